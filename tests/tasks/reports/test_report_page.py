"""The report page needs nothing from the network, and its Prefect view holds the charts."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import polars as pl
from report_tables import crafted_tables, empty_tables

from hhcast.config import ReportSettings
from tasks.reports.report import build_report, markdown, render_html, render_png
from tasks.reports.tables import ReportTables

NOW = datetime(2022, 3, 7, 8, tzinfo=UTC)
KEYS = ["forecast", "errors", "drift", "champions"]


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


def specs_of(html: str) -> dict:
    return json.loads(re.search(r"const specs = (.*);\n", html).group(1))


def page(tables: ReportTables) -> str:
    return render_html(build_report(tables, ReportSettings(), [4, 13, 26], NOW))


def test_the_page_loads_nothing_from_the_network_and_holds_every_chart():
    html = page(crafted_tables())
    tags = elements(html)
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert len(scripts) == 2 and not any("src" in attrs for attrs in scripts)
    for _, attrs in tags:
        for name in ("src", "href"):
            assert not attrs.get(name, "").startswith(("http:", "https:", "//"))
    assert not re.search(r"<link[^>]+stylesheet", html)
    assert "vegaEmbed" in html  # the bundle is inlined, not fetched
    assert list(specs_of(html)) == KEYS
    assert [attrs["id"] for tag, attrs in tags if attrs.get("class") == "chart"] == [
        f"chart-{key}" for key in KEYS
    ]
    assert "2022-03-07" in html and "champion naive-1" in html  # the rollback's champion


def test_a_closing_script_tag_in_the_data_cannot_end_the_page_script():
    tables = crafted_tables()
    hostile = "</script><script>alert(1)</script>"
    tables = ReportTables(
        tables.actuals,
        tables.predictions.with_columns(model_id=pl.lit(hostile)),
        *list(vars(tables).values())[2:],
    )
    html = page(tables)
    assert html.count("</script>") == page(crafted_tables()).count("</script>")
    assert hostile in json.dumps(specs_of(html))  # still there, as data


def test_an_empty_warehouse_gets_a_whole_report_saying_what_is_missing():
    html = page(empty_tables())
    specs = specs_of(html)
    assert list(specs) == KEYS
    messages = [d[0]["message"] for s in specs.values() for d in s["datasets"].values()]
    assert len(messages) == 4 and all(m.startswith("No ") for m in messages)
    assert "no actuals yet" in html and "; no champion yet." in html


def test_the_coming_weeks_table_shows_the_latest_forecast_and_the_plan_file_name():
    html = page(crafted_tables())
    table = html[html.index("The coming weeks") : html.index("Forecast vs actual")]
    assert "<td>800</td><td>790 - 810</td>" in table and "<td>780 - 820</td>" in table
    assert "<td>flight_plan_issued.csv</td>" in table


def test_the_prefect_view_holds_each_chart_as_a_png_and_says_where_the_page_is():
    report = build_report(crafted_tables(), ReportSettings(), [4, 13, 26], NOW)
    pngs = {figure.key: render_png(figure, 1.0) for figure in report.figures}
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in pngs.values())
    text = markdown(report, pngs, "/lake/reports/2022-03-07-run.html")
    inline = re.findall(r"!\[[^\]]+\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text)
    assert [base64.b64decode(data) for data in inline] == list(pngs.values())
    assert "`/lake/reports/2022-03-07-run.html`" in text

    served = markdown(
        report, pngs, "s3://lake/reports/x.html", page_url="https://reports.example/x.html",
        png_urls={key: f"https://reports.example/x/{key}.png" for key in pngs},
    )  # fmt: skip
    assert "data:image" not in served
    assert "[open the report](https://reports.example/x.html)" in served
    assert "![Drift per feature](https://reports.example/x/drift.png)" in served
