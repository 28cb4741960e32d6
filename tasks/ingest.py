"""Ingest one landed file: fetch, archive, read, type, check its rows, and record the outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from hhcast.config import ContractSettings, Settings
from tasks import contracts, parse
from tasks.lake import LandedFile, archive, read_bytes, retry_on_io_error, sha256
from tasks.load import TERMINAL, FileOutcome, record
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


@task(
    name="ingest-file",
    task_run_name="ingest {landed.name}",
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=retry_on_io_error,
    cache_policy=NO_CACHE,
)
def ingest_file(
    landed: LandedFile, settings: Settings, known: dict[tuple[str, str], str]
) -> FileOutcome:
    """Bring one landed file into the warehouse; retried as a whole when lake I/O fails.

    Unreadable files and bad rows are outcomes, not exceptions: they are recorded and the
    run goes on. Only I/O failures raise, and the retry is safe because a file's rows are
    written in one transaction and the archive is content-addressed.
    """
    content = read_bytes(landed.uri, settings)
    digest = sha256(content)
    outcome = FileOutcome(uri=landed.uri, sha256=digest, bytes=len(content), status="unchanged")
    if known.get((landed.uri, digest)) in TERMINAL:
        return outcome
    archived = archive(content, digest, landed.name, settings)
    try:
        raw = read_export(landed.uri, content, settings)
    except UnreadableFile as exc:
        rejected = FileOutcome(
            uri=landed.uri,
            sha256=digest,
            bytes=len(content),
            status="rejected",
            error=str(exc),
            archive_uri=archived,
        )
        return record(settings.warehouse, rejected)
    accepted, quarantine = check_rows(raw, settings)
    days = accepted.get_column(SOURCES[raw.source].day)
    loaded = FileOutcome(
        uri=landed.uri,
        sha256=digest,
        bytes=len(content),
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
    table = settings.sources[raw.source].table
    return record(settings.warehouse, loaded, table, accepted, quarantine)
