"""The report flow's Prefect task: read the tables, write the report to the lake, show it.

The charts and the page are tasks/reports/; here they get the warehouse, the lake and the UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from hhcast.config import Settings
from tasks.reports.tables import read_tables
from tasks.train import LAKE_RETRIES
from warehouse.connection import locked
from warehouse.lake import filesystem, uri_for

# The charts (altair, vl-convert) are imported by the functions that draw them: the pipeline
# imports this module, and every `hhcast` command running a flow would otherwise pay for
# them at start-up, before its run, even one that draws nothing.
if TYPE_CHECKING:
    from tasks.reports.report import Report

REPORTS_DIR = "reports"
ARTIFACT_KEY = "forecast-report"


@dataclass(frozen=True)
class ReportSummary:
    """Where a report was written: the page and each chart's PNG."""

    html_uri: str
    png_uris: dict[str, str]
    html_bytes: int
    page_url: str | None = None  # the page's http(s) address, when reports.url serves them

    def headline(self) -> str:
        return (
            f"report {self.html_uri} ({self.html_bytes / 1e6:.1f} MB), {len(self.png_uris)} charts"
        )


def make_report(settings: Settings, now: datetime | None = None) -> Report:
    """The report on the warehouse as it is now."""
    from tasks.reports.report import build_report

    with locked(settings.warehouse) as con:
        tables = read_tables(con, settings.reports.weeks)
    return build_report(
        tables, settings.reports, settings.monitoring.windows, now or datetime.now(UTC)
    )


@task(name="publish-report", cache_policy=NO_CACHE, **LAKE_RETRIES)
def publish_report(settings: Settings, run_id: str) -> ReportSummary:
    """Write reports/<date>-<run id>.html and its PNGs to the lake, and the `forecast-report`
    markdown artifact showing the charts, with where the page is."""
    from tasks.reports.report import markdown, render_html, render_png

    now = datetime.now(UTC)
    report = make_report(settings, now)
    html = render_html(report)
    pngs = {f.key: render_png(f, settings.reports.png_scale) for f in report.figures}
    fs, root = filesystem(settings.lake, settings)
    stem = f"{now:%Y-%m-%d}-{run_id}"
    folder = f"{root}/{REPORTS_DIR}"
    fs.makedirs(f"{folder}/{stem}", exist_ok=True)
    page = f"{folder}/{stem}.html"
    fs.pipe_file(page, html.encode("utf-8"))
    png_uris = {}
    for key, png in pngs.items():
        path = f"{folder}/{stem}/{key}.png"
        fs.pipe_file(path, png)
        png_uris[key] = uri_for(settings.lake, path)
    html_uri = uri_for(settings.lake, page)
    served = settings.reports.url.rstrip("/") if settings.reports.url else None
    page_url = f"{served}/{stem}.html" if served else None
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=markdown(
            report,
            pngs,
            html_uri,
            page_url=page_url,
            png_urls={key: f"{served}/{stem}/{key}.png" for key in pngs} if served else None,
        ),
        description=f"**Report**: {report.meta}",
    )
    return ReportSummary(html_uri, png_uris, len(html), page_url)
