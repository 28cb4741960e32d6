"""Pipeline: the whole weekly job in one run, ingest then transform.

1. Ingest every new or changed export from landing (rejected files are reported; the good
   ones still load).
2. Transform: rebuild the weeks the new files touch, run the data tests, record the version.
The run ends Failed when either step needs a person's attention.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow
from prefect.states import Failed, State

from flows.ingest import ingest
from flows.transform import transform
from tasks.summary import IngestSummary
from tasks.transform import BuildSummary


@dataclass(frozen=True)
class PipelineSummary:
    """What each step of the pipeline did."""

    ingest: IngestSummary
    transform: BuildSummary
    ok: bool

    def headline(self) -> str:
        return f"ingest: {self.ingest.headline()} | transform: {self.transform.headline()}"


@flow(name="pipeline", log_prints=True)
def pipeline(source: str | None = None, full_refresh: bool = False) -> PipelineSummary | State:
    """Ingest new exports from landing (or `source`), then rebuild the weekly features."""
    ingested = ingest(source=source, return_state=True)
    loaded = ingested.result(raise_on_failure=False)
    if isinstance(loaded, BaseException):
        raise loaded
    built = transform(full_refresh=full_refresh, return_state=True)
    rebuilt = built.result(raise_on_failure=False)
    if isinstance(rebuilt, BaseException):
        raise rebuilt
    summary = PipelineSummary(loaded, rebuilt, ingested.is_completed() and built.is_completed())
    if not summary.ok:
        return Failed(message=summary.headline(), data=summary)
    return summary
