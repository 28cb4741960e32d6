"""Row contracts for the raw sources, as pandera schemas, and the split into loaded and quarantined.

A contract sees each typed column beside its raw text (`<column>__raw`), so it can tell a
blank cell (`present`) from text it could not read (`parseable`) from a value out of range.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from hhcast.config import ContractSettings

if TYPE_CHECKING:
    import pandera.polars as pa
    from pandera.api.polars.types import PolarsData

# Polars LazyFrames skip data checks unless asked; contracts are about data.
os.environ.setdefault("PANDERA_VALIDATION_DEPTH", "SCHEMA_AND_DATA")
# pandera (which imports pandas) is imported only where a schema is built or run, in
# `contract` and `enforce`: the rules are plain data, and a command that reads no file (an
# `hhcast run` with nothing new, the CLI itself) should not pay a second or so to import it.

RAW_SUFFIX = "__raw"
PLACEHOLDER = "is_placeholder"


@dataclass(frozen=True)
class RowCheck:
    """A check of a column's own, by the name a quarantined row reports it under."""

    name: str
    test: Callable[[PolarsData], pl.LazyFrame]  # True for each row that passes


@dataclass(frozen=True)
class ColumnRule:
    """What a typed column must satisfy: presence, a range, and any checks of its own."""

    required: bool
    low: object | None = None
    high: object | None = None
    checks: tuple[RowCheck, ...] = ()
    text: bool = False  # kept as written: any text parses, so only presence is checked


def event_rules(limits: ContractSettings) -> dict[str, ColumnRule]:
    """The contract of one unscheduled work item."""
    dates = (limits.earliest_date, limits.latest_date)
    return {
        "sign": ColumnRule(required=True, text=True),
        "registration": ColumnRule(required=True, text=True),
        "aircraft_type": ColumnRule(required=True, text=True),
        "issue_station": ColumnRule(required=False, text=True),
        "closing_date": ColumnRule(True, *dates),
        "ata": ColumnRule(required=False, text=True),
        "ata_description": ColumnRule(required=False, text=True),
        "hh_planned": ColumnRule(
            False,
            0.0,
            limits.max_item_hh,
            checks=(RowCheck("present_when_executed_is_zero", _known_when_not_booked),),
        ),
        "hh_executed": ColumnRule(True, 0.0, limits.max_item_hh),
    }


def utilization_rules(limits: ContractSettings) -> dict[str, ColumnRule]:
    """The contract of one aircraft's flying day."""
    return {
        **flight_plan_rules(limits),
        "tah": ColumnRule(True, 0.0, None),
        "tac": ColumnRule(True, 0, None),
    }


def flight_plan_rules(limits: ContractSettings) -> dict[str, ColumnRule]:
    """The contract of one aircraft's planned day: a flying day's, without TAH and TAC."""
    return {
        "dep_date": ColumnRule(True, limits.earliest_date, limits.latest_date),
        "registration": ColumnRule(required=True, text=True),
        "aircraft_type": ColumnRule(required=True, text=True),
        "flights": ColumnRule(True, 0, limits.max_daily_flights),
        "block_hours": ColumnRule(True, 0.0, limits.max_daily_block_hours),
        # A blank Cycles cell has a meaning (sources.*.blank_cycles), so it is not "missing".
        "cycles": ColumnRule(False, 0, limits.max_daily_cycles),
    }


def _exempt(data: PolarsData) -> pl.Expr:
    # Placeholder rows carry no values; only the placeholder marker itself is checked.
    names = data.lazyframe.collect_schema().names()
    return pl.col(PLACEHOLDER) if PLACEHOLDER in names else pl.lit(False)


def _present(data: PolarsData) -> pl.LazyFrame:
    raw = pl.col(data.key + RAW_SUFFIX)
    return data.lazyframe.select(raw.is_not_null() | _exempt(data))


def _parseable(data: PolarsData) -> pl.LazyFrame:
    raw = pl.col(data.key + RAW_SUFFIX)
    return data.lazyframe.select(pl.col(data.key).is_not_null() | raw.is_null() | _exempt(data))


def _known_when_not_booked(data: PolarsData) -> pl.LazyFrame:
    # Executed HH of zero means "not booked" and falls back to planned, which must then exist.
    executed = pl.col("hh_executed")
    return data.lazyframe.select(
        pl.col(data.key).is_not_null() | executed.is_null() | (executed != 0)
    )


def contract(rules: dict[str, ColumnRule], name: str) -> pa.DataFrameSchema:
    """A pandera schema checking every column of `rules` against its raw text."""
    import pandera.polars as pa

    columns = {}
    for column, rule in rules.items():
        checks = [] if rule.text else [pa.Check(_parseable, name="parseable", ignore_na=False)]
        if rule.required:
            checks.append(pa.Check(_present, name="present", ignore_na=False))
        if rule.low is not None and rule.high is not None:
            checks.append(pa.Check.in_range(rule.low, rule.high))
        elif rule.low is not None:
            checks.append(pa.Check.ge(rule.low))
        checks.extend(pa.Check(c.test, name=c.name, ignore_na=False) for c in rule.checks)
        if checks:  # each check costs a pass over the file; a column with none needs none
            columns[column] = pa.Column(nullable=True, checks=checks)
    return pa.DataFrameSchema(columns, name=name, strict=False)


@dataclass(frozen=True)
class Verdict:
    """A file's typed rows split by its contract."""

    accepted: pl.DataFrame  # rows passing every check, in file order
    failures: pl.DataFrame  # one row per failed check: row_index, column_name, check_name

    def split(self, heights: list[int]) -> list[Verdict]:
        """The verdict of each frame checked as part of this one, given their heights in order."""
        verdicts, start, accepted_start = [], 0, 0
        for height in heights:
            rows = pl.col("row_index")
            within = rows.is_between(start, start + height - 1)
            failures = self.failures.filter(within).with_columns(rows - start)
            accepted = height - failures.get_column("row_index").n_unique()
            verdicts.append(Verdict(self.accepted.slice(accepted_start, accepted), failures))
            start, accepted_start = start + height, accepted_start + accepted
        return verdicts


FAILURE_SCHEMA = {"row_index": pl.Int64, "column_name": pl.String, "check_name": pl.String}


def enforce(typed: pl.DataFrame, raw: pl.DataFrame, schema: pa.DataFrameSchema) -> Verdict:
    """Validate typed rows with their raw text alongside; a row failing any check is held back.

    `row_index` in the failures is the row's position in `typed` (and `raw`).
    """
    from pandera.errors import SchemaErrors

    frame = pl.concat(
        [typed, raw.select(pl.col(c).alias(c + RAW_SUFFIX) for c in schema.columns)],
        how="horizontal",
    )
    try:
        schema.validate(frame, lazy=True)
        return Verdict(accepted=typed, failures=pl.DataFrame(schema=FAILURE_SCHEMA))
    except SchemaErrors as errors:
        cases = errors.failure_cases
    unplaced = cases.filter(pl.col("index").is_null())
    if unplaced.height:
        # A failure outside rows (a missing column) is a bug in the reader, not bad data.
        raise RuntimeError(f"contract {schema.name} failed outside rows:\n{unplaced}")
    failures = cases.select(
        pl.col("index").cast(pl.Int64).alias("row_index"),
        pl.col("column").alias("column_name"),
        pl.col("check").alias("check_name"),
    ).sort("row_index", "column_name")
    rejected = failures.get_column("row_index").unique()
    accepted = (
        typed.with_row_index("row_index")
        .filter(~pl.col("row_index").is_in(rejected.implode()))
        .drop("row_index")
    )
    return Verdict(accepted=accepted, failures=failures)
