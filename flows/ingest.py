"""Ingest: bring every new raw export in landing into the warehouse's raw tables.

1. List the files in landing (a folder or an S3 prefix).
2. Take the warehouse's writer lock, so a concurrent run waits instead of failing.
3. Skip the files listed with the size and change marker (S3 ETag, file mtime) they had
   when recorded. For each other file (a few files to a task, a few tasks at a time): fetch
   it; if its content is new, archive an unchanged copy in the lake, then read, type and
   check its rows against the contract (in worker processes: that part is CPU-bound).
4. Record the files in batches of about `ingest.batch_rows` rows, one transaction each:
   accepted rows to raw.*, failed checks to meta.quarantine, the file to
   meta.ingested_files. A file's rows are all in, or none.
5. Publish a summary table; end Failed if any file was rejected (the others still load).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.states import Failed, State

from hhcast.config import Settings, load_settings
from tasks.ingest import (
    batches,
    group_label,
    groups,
    load_files,
    prepare_files,
    split_unchanged,
)
from tasks.lake import LandedFile, list_landing, retry_on_io_error
from tasks.load import FileOutcome, KnownFiles, StagedFile, known_files
from tasks.summary import IngestSummary, publish_ingest_summary
from tasks.workers import WorkerPool, worker_pool
from warehouse.connection import connect, ensure_schema, writing


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
def prepare_warehouse(settings: Settings) -> KnownFiles:
    """Create the raw and meta tables if needed; return the files already seen."""
    with connect(settings.warehouse) as con:
        ensure_schema(con)
    return known_files(settings.warehouse)


def prepare_all(
    landed: list[LandedFile],
    settings: Settings,
    known: KnownFiles,
    workers: WorkerPool | None,
) -> Iterator[StagedFile]:
    """Prepared files in landing order, `ingest.files_per_task` to a task, with
    `ingest.max_parallel_files` in flight: more groups than workers, so a worker that finishes
    before the oldest group takes a waiting one instead of idling."""
    size = settings.ingest.files_per_task
    in_flight = max(1, settings.ingest.max_parallel_files // size)
    running: deque[PrefectFuture] = deque()
    for group in groups(landed, size):
        if len(running) >= in_flight:
            yield from running.popleft().result()
        running.append(prepare_files.submit(group, settings, known, workers, group_label(group)))
    while running:
        yield from running.popleft().result()


def ingest_all(
    landed: list[LandedFile], settings: Settings, known: KnownFiles
) -> list[FileOutcome]:
    """Prepare every changed file and record them in batches, each while the next is prepared."""
    unchanged, changed = split_unchanged(landed, known)
    loads = []
    with worker_pool(settings.ingest.worker_processes) as workers:
        staged = prepare_all(changed, settings, known, workers)
        for batch in batches(staged, settings.ingest.batch_rows):
            label = f"{len(batch)} files, {sum(item.row_count for item in batch):,} rows"
            loads.append(load_files.submit(batch, settings, label))
    return unchanged + [outcome for load in loads for outcome in load.result()]


@flow(name="ingest", log_prints=True)
def ingest(source: str | None = None) -> IngestSummary | State:
    """Load new raw exports from landing (or `source`, a folder or s3:// URI) into raw.*."""
    logger = get_run_logger()
    settings = load_settings().with_overrides(landing=source)
    landed = list_landing_files(settings)
    timeout = settings.ingest.writer_lock_timeout_seconds
    with writing(settings.warehouse, timeout=timeout):
        known = prepare_warehouse(settings)
        summary = IngestSummary(ingest_all(landed, settings, known))
    publish_ingest_summary(summary)
    logger.info(summary.headline())
    if summary.rejected:
        # Failed, so schedules and automations notice; the summary still travels with it.
        return Failed(message=summary.headline(), data=summary)
    return summary
