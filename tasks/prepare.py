"""Fetch, archive, read, type and check one export: the CPU-heavy part of ingestion.

It runs in worker processes (the GIL would serialise it in threads) and imports no Prefect,
so a worker starts in about a second.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace

import polars as pl

from hhcast.config import ContractSettings, Settings
from tasks import contracts, parse
from tasks.lake import LandedFile, archive, read_bytes, sha256
from tasks.load import TERMINAL, FileOutcome, StagedFile
from tasks.read import RawTable, UnreadableFile, read_export


@dataclass(frozen=True)
class SourceContract:
    """How a source's text rows become typed rows, and the contract those rows must meet."""

    typed: Callable[[RawTable, Settings], pl.DataFrame]
    rules: Callable[[ContractSettings], dict[str, contracts.ColumnRule]]
    day: str  # the column dating a row, whose span later rebuilds recompute


SOURCES: dict[str, SourceContract] = {
    "unscheduled_events": SourceContract(
        typed=lambda raw, s: parse.typed_events(raw.frame, s.parsing),
        rules=contracts.event_rules,
        day="closing_date",
    ),
    "aircraft_utilization": SourceContract(
        typed=lambda raw, s: parse.typed_utilization(
            raw.frame, s.parsing, s.sources["aircraft_utilization"]
        ),
        rules=contracts.utilization_rules,
        day="dep_date",
    ),
}


def check_rows(raw: RawTable, settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed rows passing the source's contract, and one quarantine row per failed check."""
    source = SOURCES[raw.source]
    typed = source.typed(raw, settings).with_columns(raw.frame.get_column("source_row"))
    schema = contracts.contract(source.rules(settings.contracts), raw.source)
    verdict = contracts.enforce(typed, raw.frame, schema)
    return verdict.accepted, quarantine_rows(raw.frame, verdict.failures)


def quarantine_rows(raw: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """Failed checks with the row number and the raw text a person will look for."""
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


def stage_file(
    landed: LandedFile, settings: Settings, known: dict[tuple[str, str], str]
) -> StagedFile:
    """Fetch a landed file, archive it, and read and check its rows, ready to record.

    Unreadable files and bad rows are outcomes, not exceptions; only I/O failures raise. It
    runs whole in a worker, so the flow's process never touches the file's bytes.
    """
    content = read_bytes(landed.uri, settings)
    digest = sha256(content)
    outcome = FileOutcome(uri=landed.uri, sha256=digest, bytes=len(content), status="unchanged")
    if known.get((landed.uri, digest)) in TERMINAL:
        return StagedFile(outcome)
    archived = archive(content, digest, landed.name, settings)
    try:
        raw = read_export(landed.uri, content, settings)
    except UnreadableFile as exc:
        return StagedFile(replace(outcome, status="rejected", error=str(exc), archive_uri=archived))
    accepted, quarantine = check_rows(raw, settings)
    days = accepted.get_column(SOURCES[raw.source].day)
    loaded = replace(
        outcome,
        status="loaded",
        source=raw.source,
        layout=raw.layout,
        rows_read=raw.rows_read,
        rows_loaded=accepted.height,
        rows_quarantined=raw.rows_read - accepted.height,
        archive_uri=archived,
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
