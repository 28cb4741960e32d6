"""Ingest landed files: fetch, archive, read, type and check rows, then record them in batches."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from hhcast.config import Settings
from tasks.lake import LandedFile, retry_on_io_error
from tasks.load import FileOutcome, KnownFiles, StagedFile, record
from tasks.prepare import died_reading, stage_files
from tasks.workers import WorkerDied, WorkerPool

log = logging.getLogger(__name__)


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


def ingest_files(
    landed: list[LandedFile],
    settings: Settings,
    known: KnownFiles,
    workers: WorkerPool | None = None,
) -> list[FileOutcome]:
    """Prepare and record files one group after another, without Prefect (for tests and scripts)."""
    unchanged, changed = split_unchanged(landed, known)
    staged = [
        item
        for group in groups(changed, settings.ingest.files_per_task)
        for item in prepare_files.fn(group, settings, known, workers)
    ]
    return unchanged + [
        o
        for batch in batches(staged, settings.ingest.batch_rows)
        for o in record(settings.warehouse, batch)
    ]


def split_unchanged(
    landed: list[LandedFile], known: KnownFiles
) -> tuple[list[FileOutcome], list[LandedFile]]:
    """The outcomes of files listed as they were when recorded (not read again), and the rest.

    A file listed with the size and change marker (S3 ETag, file mtime) it had when it was
    recorded is taken as unchanged; any rewrite changes the marker, so the file is read and
    its content hash decides.
    """
    unchanged, changed = [], []
    for file in landed:
        outcome = known.unchanged(file)
        if outcome is None:
            changed.append(file)
        else:
            unchanged.append(outcome)
    return unchanged, changed


def groups(landed: list[LandedFile], size: int) -> Iterator[list[LandedFile]]:
    """Consecutive groups of `size` files (the last may be smaller), prepared together."""
    for start in range(0, len(landed), size):
        yield landed[start : start + size]


def group_label(group: list[LandedFile]) -> str:
    """How a group of files is named in Prefect's UI."""
    if len(group) == 1:
        return group[0].name
    return f"{group[0].name} .. {group[-1].name} ({len(group)} files)"


def batches(staged: Iterable[StagedFile], rows: int) -> Iterator[list[StagedFile]]:
    """Consecutive groups of files, each closed once it holds `rows` rows (files never split)."""
    group: list[StagedFile] = []
    for item in staged:
        group.append(item)
        if sum(i.row_count for i in group) >= rows:
            yield group
            group = []
    if group:
        yield group
