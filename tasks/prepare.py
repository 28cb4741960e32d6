"""Fetch, archive, read, type and check one export: the CPU-heavy part of ingestion.

It runs in worker processes (the GIL would serialise it in threads) and imports no Prefect,
so a worker starts in about a second.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace

import polars as pl

from hhcast.config import ContractSettings, Settings
from tasks import contracts, parse
from tasks.lake import LandedFile, archive, read_bytes, sha256
from tasks.load import FileOutcome, KnownFiles, StagedFile
from tasks.read import RawTable, UnreadableFile, read_export
from tasks.read_errors import about_content


@dataclass(frozen=True)
class SourceContract:
    """How a source's text rows become typed rows, and the contract those rows must meet."""

    typed: Callable[[pl.DataFrame, Settings], pl.DataFrame]
    rules: Callable[[ContractSettings], dict[str, contracts.ColumnRule]]
    day: str  # the column dating a row, whose span later rebuilds recompute


SOURCES: dict[str, SourceContract] = {
    "unscheduled_events": SourceContract(
        typed=lambda raw, s: parse.typed_events(raw, s.parsing),
        rules=contracts.event_rules,
        day="closing_date",
    ),
    "aircraft_utilization": SourceContract(
        typed=lambda raw, s: parse.typed_utilization(
            raw, s.parsing, s.sources["aircraft_utilization"]
        ),
        rules=contracts.utilization_rules,
        day="dep_date",
    ),
}


QUARANTINE_SCHEMA = {
    "source_row": pl.Int32,
    "column_name": pl.String,
    "check_name": pl.String,
    "raw_value": pl.String,
}


def check_rows(
    tables: list[RawTable], settings: Settings
) -> list[tuple[pl.DataFrame, pl.DataFrame] | BaseException]:
    """For each table, its typed rows passing its source's contract and one quarantine row per
    failed check; or, for a table whose typing or checking failed, the exception.

    The tables of a source are typed and checked as one frame: a contract costs about a
    millisecond per check and call whatever the number of rows, and every check is row by row.
    If that fails, each table is checked alone, so that one odd file fails only itself.
    """
    checked: dict[int, tuple[pl.DataFrame, pl.DataFrame] | BaseException] = {}
    for name in SOURCES:
        positions = [at for at, table in enumerate(tables) if table.source == name]
        if not positions:
            continue
        try:
            verdicts = _check_together([tables[at] for at in positions], name, settings)
        except Exception:
            verdicts = [_check_alone(tables[at], name, settings) for at in positions]
        checked.update(zip(positions, verdicts, strict=True))
    return [checked[at] for at in range(len(tables))]


def _check_together(
    tables: list[RawTable], name: str, settings: Settings
) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    source = SOURCES[name]
    frames = [table.frame for table in tables]
    # Layouts may list the canonical columns in different orders.
    raw = pl.concat([frame.select(frames[0].columns) for frame in frames])
    typed = source.typed(raw, settings).with_columns(raw.get_column("source_row"))
    schema = contracts.contract(source.rules(settings.contracts), name)
    verdicts = contracts.enforce(typed, raw, schema).split([f.height for f in frames])
    return [
        (verdict.accepted, quarantine_rows(frame, verdict.failures))
        for frame, verdict in zip(frames, verdicts, strict=True)
    ]


def _check_alone(
    table: RawTable, name: str, settings: Settings
) -> tuple[pl.DataFrame, pl.DataFrame] | BaseException:
    try:
        return _check_together([table], name, settings)[0]
    except Exception as exc:
        return exc


def quarantine_rows(raw: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """Failed checks with the row number and the raw text a person will look for."""
    if failures.is_empty():  # most files: nothing to look up
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    failing = (
        raw.with_row_index("row_index")
        .filter(pl.col("row_index").is_in(failures.get_column("row_index").unique().implode()))
        .unpivot(
            index=["row_index", "source_row"],
            variable_name="column_name",
            value_name="raw_value",
        )
    )
    return failures.join(
        failing.with_columns(pl.col("row_index").cast(pl.Int64)),
        on=["row_index", "column_name"],
        how="left",
    ).select("source_row", "column_name", "check_name", "raw_value")


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
    days = accepted.get_column(SOURCES[raw.source].day)
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


@contextmanager
def worker_pool(processes: int) -> Iterator[Executor | None]:
    """Processes that prepare files in parallel, or None to prepare them in this process.

    Workers start on the first file submitted, so a run with nothing new starts none.
    """
    if processes < 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")  # fork is unsafe under Prefect's threads
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        yield pool
