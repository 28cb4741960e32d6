"""The ingest flow's Prefect tasks: list landing, prepare and record files, land hand-overs,
and the run's summary (for the terminal, the Prefect UI and the exit code).

The work is in tasks/raw/; here it gets retries, concurrency and names in the Prefect UI.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from prefect.futures import PrefectFuture

from hhcast.config import Settings, load_settings
from tasks.progress import RunProgress
from tasks.raw.batches import batches, group_label, groups, split_unchanged
from tasks.raw.landing import LandedFile, land, list_landing
from tasks.raw.load import FileOutcome, KnownFiles, StagedFile, known_files, record
from tasks.raw.prepare import died_reading, stage_files
from tasks.raw.workers import WorkerDied, WorkerPool, worker_pool
from warehouse.connection import connect, ensure_schema
from warehouse.lake import filesystem, retry_on_io_error, uri_for

log = logging.getLogger(__name__)


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


def ingest_all(
    landed: list[LandedFile], settings: Settings, known: KnownFiles, *, as_tasks: bool = True
) -> list[FileOutcome]:
    """Prepare every changed file and record them in batches, each while the next is prepared.

    Files are prepared `ingest.files_per_task` to a task with `ingest.max_parallel_files` in
    flight: more groups than workers, so a worker that finishes before the oldest group takes
    a waiting one instead of idling. With `as_tasks=False` the same steps run as plain calls,
    one after another (tests and scripts without a Prefect API).
    """
    unchanged, changed = split_unchanged(landed, known)
    # the UI's progress bar: files prepared, counted per batch sent to the warehouse
    progress = RunProgress("ingest-progress", len(changed), "Files prepared") if as_tasks else None
    with worker_pool(settings.ingest.worker_processes) as workers:
        staged = _prepared(changed, settings, known, workers, as_tasks)
        loads = []
        for batch in batches(staged, settings.ingest.batch_rows):
            loads.append(_record(batch, settings, as_tasks))
            if progress is not None:
                progress.advance(len(batch), label=PurePosixPath(batch[-1].outcome.uri).name)
    return unchanged + [outcome for load in loads for outcome in _value(load)]


def _prepared(
    landed: list[LandedFile],
    settings: Settings,
    known: KnownFiles,
    workers: WorkerPool | None,
    as_tasks: bool,
) -> Iterator[StagedFile]:
    """Prepared files in landing order, a bounded number of groups in flight."""
    size = settings.ingest.files_per_task
    in_flight = max(1, settings.ingest.max_parallel_files // size)
    running: deque[PrefectFuture | list[StagedFile]] = deque()
    for group in groups(landed, size):
        if len(running) >= in_flight:
            yield from _value(running.popleft())
        if as_tasks:
            running.append(
                prepare_files.submit(group, settings, known, workers, group_label(group))
            )
        else:
            running.append(prepare_files.fn(group, settings, known, workers))
    while running:
        yield from _value(running.popleft())


def _record(batch: list[StagedFile], settings: Settings, as_tasks: bool):
    if not as_tasks:
        return record(settings.warehouse, batch)
    label = f"{len(batch)} files, {sum(item.row_count for item in batch):,} rows"
    return load_files.submit(batch, settings, label)


def _value(run: PrefectFuture | list):
    return run.result() if isinstance(run, PrefectFuture) else run


@task(
    name="land-file",
    task_run_name="land-{source}",
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=[1, 5, 15],
    retry_condition_fn=retry_on_io_error,
)
def land_file(source: str) -> str:
    """Copy one handed-over file into landing; return its landing URI."""
    return land(source, load_settings())


@task(
    name="prepare-files",
    task_run_name="prepare {label}",
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=retry_on_io_error,
    cache_policy=NO_CACHE,
)
def prepare_files(
    landed: list[LandedFile],
    settings: Settings,
    known: KnownFiles,
    workers: WorkerPool | None = None,
    label: str = "",
) -> list[StagedFile]:
    """Fetch, archive, read and check a few landed files (in a worker process when given one).

    Only I/O failures raise, and the retry is safe: nothing is written to the warehouse here
    and the archive is content-addressed. A file hhcast failed to read for a reason it did not
    foresee is rejected with the cause, and so is a file that kills the process reading it;
    the traceback is logged here, once, as a warning whose traceback reaches the run's log in
    the Prefect UI but not the terminal (the rejection already tells the user what to do).
    """
    if workers is None:
        staged = stage_files(landed, settings, known)
    else:
        staged = staged_in_workers(landed, settings, known, workers)
    for item in staged:
        if item.trace:
            _logger().warning(
                "%s", item.outcome.error, exc_info=(ReaderFailure, ReaderFailure(item.trace), None)
            )
    return staged


def staged_in_workers(
    landed: list[LandedFile],
    settings: Settings,
    known: KnownFiles,
    workers: WorkerPool,
    stage: Callable[..., list[StagedFile]] = stage_files,
) -> list[StagedFile]:
    """The group in a worker; if a worker died, the group again, then file by file alone."""
    try:
        return workers.run(stage, landed, settings, known)
    except WorkerDied:
        pass  # perhaps another group's file killed the pool: try this group once more
    try:
        return workers.run(stage, landed, settings, known)
    except WorkerDied:
        pass
    staged = []
    for file in landed:
        try:
            staged += workers.run_alone(stage, [file], settings, known)
        except WorkerDied:
            staged.append(died_reading(file, settings))
    return staged


class ReaderFailure(Exception):
    """An unforeseen failure to read a file; its text is the traceback the reader met."""


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The run's logger (its lines reach the Prefect UI), or this module's outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return log


@task(
    name="load-files",
    task_run_name="load {label}",
    cache_policy=NO_CACHE,
)
def load_files(staged: list[StagedFile], settings: Settings, label: str) -> list[FileOutcome]:
    """Record a batch of prepared files in the warehouse, in one transaction."""
    return record(settings.warehouse, staged)


@dataclass(frozen=True)
class IngestSummary:
    """The outcomes of one ingest run, one per landed file."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    landing: str | None = None  # landing's root URI, to show each file's folder relative to it

    @property
    def by_status(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]

    @property
    def rows_loaded(self) -> int:
        return sum(o.rows_loaded for o in self.outcomes)

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.outcomes)

    def headline(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.by_status.items()))
        return (
            f"{len(self.outcomes)} files ({counts or 'none'}); {self.rows_loaded:,} rows loaded, "
            f"{self.rows_quarantined:,} rows quarantined"
        )

    def folder(self, uri: str) -> str:
        """The folder of a landed file relative to landing (`.` at its top), else its parent."""
        parent = str(PurePosixPath(uri).parent)
        root = (self.landing or "").rstrip("/")
        if root and (parent == root or parent.startswith(root + "/")):
            return parent[len(root) + 1 :] or "."
        return PurePosixPath(parent).name or parent

    def table(self) -> list[dict[str, object]]:
        """One row per file that needed work (unchanged files are counted, not listed); the
        file by name and folder, so the Prefect UI's table is not scrolled off by long paths."""
        return [
            {
                "file": PurePosixPath(o.uri).name,
                "folder": self.folder(o.uri),
                "status": o.status,
                "layout": o.layout or "",
                "rows read": o.rows_read,
                "loaded": o.rows_loaded,
                "quarantined": o.rows_quarantined,
                "error": o.error or "",
            }
            for o in self.outcomes
            if o.status != "unchanged"
        ]

    def render(self, limit: int = 15) -> str:
        """A plain-text report for the terminal: the headline, then files that need a look."""
        attention = [r for r in self.table() if r["status"] != "loaded" or r["quarantined"]]
        attention.sort(key=lambda r: (r["status"] == "loaded", -int(r["quarantined"])))
        lines = [self.headline()]
        if attention:
            lines.append(f"{'status':<18} {'rows':>9} {'quar.':>6}  file")
        for row in attention[:limit]:
            counts = f"{row['rows read']:>9,} {row['quarantined']:>6,}"
            where = row["file"] if row["folder"] == "." else f"{row['folder']}/{row['file']}"
            lines.append(f"{row['status']:<18} {counts}  {where}")
            if row["error"]:
                lines.append(f"{'':<18} -> {row['error']}")
        if len(attention) > limit:
            lines.append(f"... and {len(attention) - limit} more (see meta.ingested_files)")
        if self.rows_quarantined:
            lines.append('quarantined rows: hhcast sql "select * from meta.quarantine"')
        return "\n".join(lines)


@task(name="publish-ingest-summary", cache_policy=NO_CACHE)
def publish_ingest_summary(summary: IngestSummary) -> None:
    """Show the run's files in the Prefect UI as a table artifact."""
    create_table_artifact(
        key="ingest-summary",
        table=summary.table() or [{"file": "(no new or changed files)"}],
        description=f"**Ingest**: {summary.headline()}",
    )


def landing_root(settings: Settings) -> str:
    """Landing's root as the URIs of its files start (a folder's path, or s3://bucket/prefix)."""
    _, root = filesystem(settings.landing, settings)
    return uri_for(settings.landing, root)
