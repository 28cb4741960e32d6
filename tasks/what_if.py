"""What-if forecasts: weeks typed in the Prefect UI's form, or a flight plan of your own.

Neither touches the warehouse's data. A what-if plan file is read and checked like any export,
then put in force, inside a transaction that is rolled back, as the newest issue for the days
it covers; the weeks marts.features_weekly_plan's own SQL computes from it are the weeks to
forecast (one definition of each feature, the plan mart's). Their forecasts are recorded with
plan_file 'what-if' and never scored by monitoring.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from hhcast.config import Settings
from tasks.marts.project import discover, render
from tasks.ml.scoring import WHAT_IF
from tasks.raw.check import SOURCES, check_rows
from tasks.raw.read import read_export
from warehouse.connection import locked
from warehouse.lake import read_bytes

PLAN_MART = "marts.features_weekly_plan"


class WhatIfError(ValueError):
    """A what-if input that cannot be forecast; the message says what to change."""


class WhatIfWeek(BaseModel):
    """One week typed in the Prefect UI's form: the fleet's utilisation you want HH for."""

    week_start: date = Field(description="Monday of the week")
    acft: int = Field(description="aircraft-days flown in the week")
    sum_daily_hours: float = Field(description="block hours flown in the week")
    cycles: int = Field(description="take-off/landing cycles in the week")
    age_fleet: float = Field(description="sum over aircraft-days of hours since new (TAH)")
    sum_uti_mensal: float = Field(description="block hours of the week's calendar month")
    n_aircraft: int = Field(description="aircraft that flew in the week")
    hh_lag_52: float | None = Field(None, description="HH of the same week a year before")
    hh_rolling_4: float | None = Field(None, description="mean HH of the 4 weeks before")


@task(name="what-if-weeks", cache_policy=NO_CACHE)
def what_if_weeks(weeks: list[WhatIfWeek]) -> pl.DataFrame:
    """Weeks typed in the UI, as planned weeks of their own (plan_file 'what-if')."""
    rows = [week.model_dump() for week in weeks]
    return _as_what_if(pl.DataFrame(rows).with_columns(horizon_weeks=pl.lit(None, pl.Int32)))


@task(name="what-if-plan", cache_policy=NO_CACHE)
def what_if_plan_weeks(uri: str, settings: Settings) -> pl.DataFrame:
    """The complete weeks of marts.features_weekly_plan had the flight plan at `uri` (a path
    or s3:// URI, in the flight-plan export's format) been issued now."""
    content = read_bytes(uri, settings)
    table = read_export(uri, content, settings)
    if table.source != "flight_plan":
        raise WhatIfError(
            f"{uri}: its header reads as a {table.source} export, not a flight plan; a what-if "
            "plan has the columns of sources.flight_plan in hhcast.yaml (Dep. Date, A/C, "
            "AC-Type, # per Day, Hours, Cycles)"
        )
    (verdict,) = check_rows([table], settings)
    if isinstance(verdict, BaseException):
        raise WhatIfError(f"{uri}: {verdict}") from verdict
    accepted, quarantine = verdict
    if quarantine.height:
        get_run_logger().warning(
            "%s: %d row(s) failed the flight plan's contract and are left out: %s", uri,
            quarantine.height, _problems(quarantine),
        )  # fmt: skip
    rows = SOURCES["flight_plan"].per_file(accepted, uri, settings)
    model = next(m for m in discover(settings) if m.name == PLAN_MART)
    with locked(settings.warehouse) as con:
        con.begin()
        try:
            con.register("what_if_plan", rows.to_arrow())
            # the newest issue of all, so it is in force on every day it plans
            con.execute(
                """
                insert into raw.flight_plan by name
                select * exclude (plan_issued_at),
                    (select coalesce(max(plan_issued_at), current_date) + 1
                     from raw.flight_plan) as plan_issued_at,
                    ? as layout, ? as source_file, now() as loaded_at
                from what_if_plan
                """,
                [table.layout, f"{WHAT_IF}:{uri}"],
            )
            weeks = con.sql(render(model, settings)).pl()
        finally:
            con.rollback()
    complete = weeks.filter(pl.col("is_complete")).sort("week_start")
    if complete.is_empty():
        raise WhatIfError(
            f"{uri}: the plan gives no complete week after the last complete actual week: "
            "it must plan every day of at least one whole week, and the rest of that week's "
            "month (for sum_uti_mensal)"
        )
    return _as_what_if(complete)


def _as_what_if(weeks: pl.DataFrame) -> pl.DataFrame:
    return weeks.with_columns(plan_file=pl.lit(WHAT_IF), plan_issued_at=pl.lit(None, pl.Date))


def _problems(quarantine: pl.DataFrame, shown: int = 5) -> str:
    columns = [
        c
        for c in ("source_row", "column_name", "check_name", "raw_value")
        if c in quarantine.columns
    ]
    return "; ".join(
        ", ".join(f"{c} {row[c]}" for c in columns)
        for row in quarantine.head(shown).iter_rows(named=True)
    )
