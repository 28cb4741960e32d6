"""Ingest landed files: fetch, archive, read, type and check rows, then record them in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import replace

from prefect import task
from prefect.cache_policies import NO_CACHE

from hhcast.config import Settings
from tasks.lake import LandedFile, archive, read_bytes, retry_on_io_error, sha256
from tasks.load import TERMINAL, FileOutcome, StagedFile, record
from tasks.prepare import prepare
from tasks.read import UnreadableFile


@task(
    name="prepare-file",
    task_run_name="prepare {landed.name}",
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=retry_on_io_error,
    cache_policy=NO_CACHE,
)
def prepare_file(
    landed: LandedFile,
    settings: Settings,
    known: dict[tuple[str, str], str],
    workers: Executor | None = None,
) -> StagedFile:
    """Fetch a landed file, archive it, and read and check its rows, ready to record.

    Unreadable files and bad rows are outcomes, not exceptions. Only I/O failures raise, and
    the task's retry is safe: nothing is written to the warehouse here and the archive is
    content-addressed.
    """
    content = read_bytes(landed.uri, settings)
    digest = sha256(content)
    outcome = FileOutcome(uri=landed.uri, sha256=digest, bytes=len(content), status="unchanged")
    if known.get((landed.uri, digest)) in TERMINAL:
        return StagedFile(outcome)
    archived = archive(content, digest, landed.name, settings)
    try:
        if workers is None:
            prepared = prepare(landed.uri, content, settings)
        else:
            prepared = workers.submit(prepare, landed.uri, content, settings).result()
    except UnreadableFile as exc:
        return StagedFile(replace(outcome, status="rejected", error=str(exc), archive_uri=archived))
    loaded = replace(
        outcome,
        status="loaded",
        source=prepared.source,
        layout=prepared.layout,
        rows_read=prepared.rows_read,
        rows_loaded=prepared.accepted.height,
        rows_quarantined=prepared.rows_read - prepared.accepted.height,
        archive_uri=archived,
        first_date=prepared.first_date,
        last_date=prepared.last_date,
    )
    table = settings.sources[prepared.source].table
    return StagedFile(loaded, table, prepared.accepted, prepared.quarantine)


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
    known: dict[tuple[str, str], str],
    workers: Executor | None = None,
) -> list[FileOutcome]:
    """Prepare and record files one after another, without Prefect (for tests and scripts)."""
    staged = [prepare_file.fn(f, settings, known, workers) for f in landed]
    return [
        o
        for batch in batches(staged, settings.ingest.batch_rows)
        for o in record(settings.warehouse, batch)
    ]


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
