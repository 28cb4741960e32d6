"""The report: its charts in order, as one self-contained HTML page and as PNG images.

The page inlines Vega, Vega-Lite and vega-embed (vega_bundle.py), so it opens offline
from a file or the lake; the PNGs, rendered by vl-convert without a browser, go where the
Prefect UI can show them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import altair as alt
import jinja2
import polars as pl
import vl_convert

from hhcast.config import ReportSettings
from tasks.reports import charts, series
from tasks.reports.tables import ReportTables
from tasks.reports.vega_bundle import VL_VERSION, vega_bundle

PAGE = Path(__file__).with_name("page.html")


@dataclass(frozen=True)
class Figure:
    """One chart of the report: `key` names its PNG and its place in the page."""

    key: str
    title: str
    caption: str
    chart: alt.TopLevelMixin

    def spec(self) -> dict:
        return self.chart.to_dict()


@dataclass(frozen=True)
class Report:
    """A report's figures and what the page says above them."""

    figures: list[Figure]
    meta: str
    as_of: datetime | None
    coming: pl.DataFrame  # the coming weeks' latest forecast (series.forecast_weeks)


def build_report(
    tables: ReportTables, settings: ReportSettings, windows: list[int], now: datetime
) -> Report:
    """The four figures from the report's tables."""
    as_of = series.as_of(tables.actuals)
    weeks = series.forecast_weeks(tables.actuals, tables.predictions, settings.forecast_horizon)
    spans = series.champion_spans(tables.decisions, until=now)
    champion = f"champion {spans['champion'][-1]}" if spans.height else "no champion yet"
    figures = [
        Figure(
            "forecast",
            "Forecast vs actual",
            f"Actual HH of the last {settings.weeks} complete weeks, the forecasts made for them "
            "and for the coming planned weeks, with their 80 % and 95 % intervals.",
            charts.forecast_vs_actual(weeks, tables.actuals, as_of, settings.forecast_horizon),
        ),
        Figure(
            "errors",
            "Error history",
            "The champion's MAE and interval coverage over its last scored weeks, at each "
            "monitor run: forecasts on the flight plan, nowcasts on the actual utilisation.",
            charts.error_history(series.window_metrics(tables.metrics, windows)),
        ),
        Figure(
            "drift",
            "Drift per feature",
            "Each drift statistic of the latest and the planned weeks against the champion's "
            "training weeks, over its calibrated alert threshold.",
            charts.drift_per_feature(series.drift_ratios(tables.drift)),
        ),
        Figure(
            "champions",
            "Champion history",
            "Which model was champion when, the decisions about it (who decided, under which "
            "policy) and the degradation alerts.",
            charts.champion_history(spans, series.decision_events(tables.decisions), tables.alerts),
        ),
    ]
    data_to = f"actuals to the week of {as_of.date().isoformat()}" if as_of else "no actuals yet"
    meta = f"Made {now:%Y-%m-%d %H:%M} UTC; {data_to}; {champion}."
    return Report(figures, meta, as_of, weeks.filter(pl.col("period") == "coming"))


def render_html(report: Report) -> str:
    """The report as one HTML page needing nothing from the network."""
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(PAGE.read_text(encoding="utf-8"))
    specs = {figure.key: figure.spec() for figure in report.figures}
    return template.render(
        as_of_text=report.as_of.date().isoformat() if report.as_of else "",
        meta=report.meta,
        coming=[_coming_row(row) for row in report.coming.iter_rows(named=True)],
        figures=report.figures,
        # `</` in a string would end the script element early
        specs_json=jinja2.utils.markupsafe.Markup(json.dumps(specs).replace("</", "<\\/")),
        vega_bundle=jinja2.utils.markupsafe.Markup(vega_bundle()),
    )


def render_png(figure: Figure, scale: float) -> bytes:
    """A figure as a PNG image, drawn by vl-convert (no browser)."""
    return vl_convert.vegalite_to_png(figure.spec(), vl_version=VL_VERSION, scale=scale)


def markdown(
    report: Report,
    pngs: dict[str, bytes],
    location: str,
    page_url: str | None = None,
    png_urls: dict[str, str] | None = None,
) -> str:
    """The Prefect UI's view of a report: the charts, and where the interactive page lies.

    Without addresses served over http(s), the PNGs go inline as data: URIs (both of Prefect
    3.8's UIs show them in a markdown artifact; neither follows a file:// or s3:// link).
    """
    where = f"[open the report]({page_url})" if page_url else "open it from the lake"
    lines = [
        "# hhcast report",
        "",
        report.meta,
        "",
        f"The interactive page (tooltips, zoom): `{location}`, {where}.",
    ]
    for figure in report.figures:
        if png_urls:
            source = png_urls[figure.key]
        else:
            source = "data:image/png;base64," + base64.b64encode(pngs[figure.key]).decode("ascii")
        lines += ["", f"## {figure.title}", "", figure.caption, "", f"![{figure.title}]({source})"]
    return "\n".join(lines) + "\n"


def _coming_row(row: dict) -> dict:
    def band(level: int) -> str:
        low, high = row[f"hh_lower_{level}"], row[f"hh_upper_{level}"]
        return "" if low is None or high is None else f"{low:,.0f} - {high:,.0f}"

    return {
        "week": row["week_start"].isoformat(),
        "horizon": row["horizon_weeks"],
        "hh": f"{row['hh_pred']:,.0f}",
        "band_80": band(80),
        "band_95": band(95),
        "plan": row["plan_file"].replace("\\", "/").rsplit("/", 1)[-1],
    }
