"""Ingest: bring every new raw export in landing into the warehouse's raw tables.

1. List the files in landing (a folder or an S3 prefix).
2. Take the warehouse's writer lock, so a concurrent run waits instead of failing.
3. For each file not seen before (two at a time): fetch it, archive an unchanged copy in the
   lake, read it, type it, check its rows against the contract, and record it in one
   transaction: accepted rows to raw.*, failed checks to meta.quarantine, the file to
   meta.ingested_files.
4. Publish a summary table; end Failed if any file was rejected (the others still load).
"""

from __future__ import annotations

from collections import deque

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from hhcast.config import Settings, load_settings
from tasks.ingest import ingest_file
from tasks.lake import LandedFile, list_landing, retry_on_io_error
from tasks.load import FileOutcome, known_files
from tasks.summary import IngestSummary, publish_ingest_summary
from warehouse.connection import connect, ensure_schema, writer_lock


@task(
    name="list-landing",
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=retry_on_io_error,
    cache_policy=NO_CACHE,
)
def list_landing_files(settings: Settings) -> list[LandedFile]:
    """The files waiting in landing."""
    files = list_landing(settings)
    get_run_logger().info("%d files in landing %s", len(files), settings.landing)
    return files


@task(name="prepare-warehouse", cache_policy=NO_CACHE)
def prepare_warehouse(settings: Settings) -> dict[tuple[str, str], str]:
    """Create the raw and meta tables if needed; return the files already seen."""
    with connect(settings.warehouse) as con:
        ensure_schema(con)
    return known_files(settings.warehouse)


def ingest_all(
    landed: list[LandedFile], settings: Settings, known: dict[tuple[str, str], str]
) -> list[FileOutcome]:
    """Run ingest-file for every file, at most `ingest.max_parallel_files` at once, in order."""
    outcomes, running = [], deque()
    for file in landed:
        if len(running) >= settings.ingest.max_parallel_files:
            outcomes.append(running.popleft().result())
        running.append(ingest_file.submit(file, settings, known))
    outcomes.extend(future.result() for future in running)
    return outcomes


@flow(name="ingest", log_prints=True)
def ingest(source: str | None = None) -> IngestSummary | State:
    """Load new raw exports from landing (or `source`, a folder or s3:// URI) into raw.*."""
    logger = get_run_logger()
    settings = load_settings().with_overrides(landing=source)
    landed = list_landing_files(settings)
    with writer_lock(settings.warehouse, timeout=settings.ingest.writer_lock_timeout_seconds):
        known = prepare_warehouse(settings)
        summary = IngestSummary(ingest_all(landed, settings, known))
    publish_ingest_summary(summary)
    logger.info(summary.headline())
    if summary.rejected:
        # Failed, so schedules and automations notice; the summary still travels with it.
        return Failed(message=summary.headline(), data=summary)
    return summary
