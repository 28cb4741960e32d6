"""Type each source's text rows and check them against its contract, many files at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from hhcast.config import ContractSettings, Settings
from tasks.raw import contracts, parse, plan_issues
from tasks.raw.read import RawTable


@dataclass(frozen=True)
class SourceContract:
    """How a source's text rows become typed rows, and the contract those rows must meet."""

    typed: Callable[[pl.DataFrame, Settings], pl.DataFrame]
    rules: Callable[[ContractSettings], dict[str, contracts.ColumnRule]]
    day: str  # the column dating a row, whose span later rebuilds recompute
    # Columns a file gives all its accepted rows (from its name, or the rows as a whole)
    per_file: Callable[[pl.DataFrame, str, Settings], pl.DataFrame] | None = None


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
    "flight_plan": SourceContract(
        typed=lambda raw, s: parse.typed_flight_plan(raw, s.parsing, s.sources["flight_plan"]),
        rules=contracts.flight_plan_rules,
        day="dep_date",
        per_file=plan_issues.with_issue_date,
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
