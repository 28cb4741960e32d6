"""Fetch, archive, read, type and check one export: the CPU-heavy part of ingestion.

It runs in worker processes (the GIL would serialise it in threads) and imports no Prefect,
so a worker starts in about a second.
"""

from __future__ import annotations

import traceback
from dataclasses import replace

import polars as pl

from hhcast.config import Settings
from tasks.raw.check import SOURCES, check_rows
from tasks.raw.landing import LandedFile
from tasks.raw.load import FileOutcome, KnownFiles, StagedFile
from tasks.raw.read import RawTable, UnreadableFile, read_export
from tasks.raw.read_errors import about_content
from warehouse.lake import archive, read_bytes, sha256


def stage_files(
    landed: list[LandedFile], settings: Settings, known: KnownFiles
) -> list[StagedFile]:
    """Fetch landed files, archive them, and read and check their rows, ready to record.

    Whatever is wrong with a file's content makes it a rejected outcome, never an exception;
    only I/O failures of landing or the lake raise, so that the task's retry applies. It runs
    whole in a worker, so the flow's process never touches the files' bytes. The files' rows
    are checked together (see check_rows), each file's verdict its own.
    """
    opened = [_open(file, settings, known) for file in landed]
    checked = iter(check_rows([table for _, table, _ in opened if table is not None], settings))
    staged = []
    for outcome, table, trace in opened:
        if table is None:
            staged.append(StagedFile(outcome, trace=trace))
            continue
        verdict = next(checked)
        if isinstance(verdict, BaseException):
            staged.append(_rejected(outcome, verdict))
        else:
            staged.append(_staged(outcome, table, *verdict, settings))
    return staged


def _open(
    landed: LandedFile, settings: Settings, known: KnownFiles
) -> tuple[FileOutcome, RawTable | None, str | None]:
    """A file's outcome so far, its rows unless it is unchanged or unreadable, and the
    traceback of an unexpected failure to read it."""
    if landed.skipped:
        return FileOutcome(landed.uri, "", 0, "skipped", error=landed.skipped), None, None
    content = read_bytes(landed.uri, settings)
    digest = sha256(content)
    outcome = FileOutcome(
        landed.uri, digest, len(content), status="unchanged", modified=landed.modified
    )
    if known.done(landed.uri, digest):
        return outcome, None, None
    archived = archive(content, digest, landed.name, settings)
    outcome = replace(outcome, archive_uri=archived)
    try:
        return outcome, read_export(landed.uri, content, settings), None
    except BaseException as exc:  # see about_content: the file's fault, or the run's
        if not about_content(exc):
            raise
        rejected = _rejected(outcome, exc)
        return rejected.outcome, None, rejected.trace


def died_reading(landed: LandedFile, settings: Settings) -> StagedFile:
    """A file whose reader process died reading it (native code aborted): rejected, archived."""
    content = read_bytes(landed.uri, settings)
    digest = sha256(content)
    archived = archive(content, digest, landed.name, settings)
    outcome = FileOutcome(
        landed.uri, digest, len(content), status="rejected", modified=landed.modified,
        archive_uri=archived,
        error=f"{landed.uri}: hhcast could not read this file: the process reading it died "
        "(the spreadsheet reader aborted on damaged content); the file is archived in the "
        "lake. Open and save it again in Excel, or re-export it",
    )  # fmt: skip
    return StagedFile(outcome)


def _rejected(outcome: FileOutcome, exc: BaseException) -> StagedFile:
    """A file rejected for `exc`: its own message, or hhcast's failure named with the cause."""
    if isinstance(exc, UnreadableFile):
        return StagedFile(replace(outcome, status="rejected", error=str(exc)))
    cause = " ".join(str(exc).split())[:300]
    error = (
        f"{outcome.uri}: hhcast could not read this file: {type(exc).__name__}: {cause}; "
        "the file is archived in the lake"
    )
    trace = "".join(traceback.format_exception(exc))
    return StagedFile(replace(outcome, status="rejected", error=error), trace=trace)


def _staged(
    outcome: FileOutcome,
    raw: RawTable,
    accepted: pl.DataFrame,
    quarantine: pl.DataFrame,
    settings: Settings,
) -> StagedFile:
    contract = SOURCES[raw.source]
    days = accepted.get_column(contract.day)
    if contract.per_file is not None:
        accepted = contract.per_file(accepted, outcome.uri, settings)
    loaded = replace(
        outcome,
        status="loaded",
        source=raw.source,
        layout=raw.layout,
        rows_read=raw.rows_read,
        rows_loaded=accepted.height,
        rows_quarantined=raw.rows_read - accepted.height,
        first_date=days.min(),
        last_date=days.max(),
    )
    return StagedFile(loaded, settings.sources[raw.source].table, accepted, quarantine)
