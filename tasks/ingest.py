"""Ingest landed files: fetch, archive, read, type and check rows, then record them in batches."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor

from prefect import task
from prefect.cache_policies import NO_CACHE

from hhcast.config import Settings
from tasks.lake import LandedFile, retry_on_io_error
from tasks.load import FileOutcome, KnownFiles, StagedFile, record
from tasks.prepare import stage_files

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
    workers: Executor | None = None,
    label: str = "",
) -> list[StagedFile]:
    """Fetch, archive, read and check a few landed files (in a worker process when given one).

    Only I/O failures raise, and the retry is safe: nothing is written to the warehouse here
    and the archive is content-addressed. A file hhcast failed to read for a reason it did not
    foresee is rejected with the cause; its traceback is logged here, once, at debug level
    (the rejection already tells the user; the traceback is for whoever fixes hhcast).
    """
    if workers is None:
        staged = stage_files(landed, settings, known)
    else:
        staged = workers.submit(stage_files, landed, settings, known).result()
    for item in staged:
        if item.trace:
            log.debug("%s\n%s", item.outcome.error, item.trace)
    return staged


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
    workers: Executor | None = None,
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
