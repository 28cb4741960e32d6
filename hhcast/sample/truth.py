"""The answer key: weekly HH the simulation expects for the studied type, before any noise."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from hhcast.sample.fleet import Fleet, expected_hh
from hhcast.sample.plans import PlanIssue

TRUTH_FILE = "truth/weekly_expected_hh.csv"
PLAN_TRUTH_FILE = "truth/plan_expected_hh.csv"
USAGE = ("acft", "sum_daily_hours", "cycles", "expected_hh")


def weekly_expected_hh(fleet: Fleet, expected: np.ndarray) -> pl.DataFrame:
    """Expected counted HH per ISO week (`week_start` is its Monday) over the whole span.

    Only studied-type work counts, as DOMAIN.md's rules would count it; crew reports,
    paperwork, other types and duplicate rows never enter `expected`, so the sum is exact.
    """
    daily = pl.DataFrame({"day": fleet.days, "hh": expected[fleet.studied].sum(axis=0)})
    return (
        daily.group_by(week_start=pl.col("day").dt.truncate("1w"))
        .agg(expected_hh=pl.col("hh").sum())
        .sort("week_start")
    )


def weekly_usage(fleet: Fleet, expected: np.ndarray) -> pl.DataFrame:
    """Per ISO week, the studied type's aircraft-days, block hours, cycles and expected HH.

    The names are those of `marts.features_weekly`, so a plan's week compares column by column.
    """
    studied = fleet.studied
    daily = pl.DataFrame(
        {
            "day": fleet.days,
            "acft": fleet.flying[studied].sum(axis=0, dtype=np.int64),
            "minutes": fleet.block_minutes[studied].sum(axis=0, dtype=np.int64),
            "cycles": fleet.flights[studied].sum(axis=0, dtype=np.int64),
        }
    )
    usage = daily.group_by(week_start=pl.col("day").dt.truncate("1w")).agg(
        acft=pl.col("acft").sum(),
        sum_daily_hours=pl.col("minutes").sum() / 60,
        cycles=pl.col("cycles").sum(),
    )
    return (
        weekly_expected_hh(fleet, expected)
        .join(usage, on="week_start")
        .select("week_start", *USAGE)
    )


def plan_expected_hh(
    issues: list[PlanIssue], actual: pl.DataFrame, drift_from: date | None, drift_factor: float
) -> pl.DataFrame:
    """One row per issue and planned week: the plan's usage and the HH expected under it.

    `actual` is `weekly_usage` of the world as flown; its columns come alongside, prefixed
    `actual_`, so that a forecast's error splits into the plan's and the model's.
    """
    frames = [
        weekly_usage(issue.planned, expected_hh(issue.planned, drift_from, drift_factor))
        .with_columns(
            plan_issued_at=pl.lit(issue.issued_at),
            horizon_weeks=(
                (pl.col("week_start") - pl.lit(issue.issued_at)).dt.total_days() // 7 + 1
            ).cast(pl.Int32),
        )
        .select("plan_issued_at", "week_start", "horizon_weeks", *USAGE)
        for issue in issues
    ]
    schema = {"plan_issued_at": pl.Date, "week_start": pl.Date, "horizon_weeks": pl.Int32}
    plans = pl.concat(frames) if frames else pl.DataFrame(schema=schema | _usage_schema())
    renamed = actual.select("week_start", *(pl.col(c).alias(f"actual_{c}") for c in USAGE))
    return plans.join(renamed, on="week_start", how="left").sort("plan_issued_at", "week_start")


def write_truth(weekly: pl.DataFrame, out: Path, name: str = TRUTH_FILE) -> Path:
    """Write an answer key as CSV with ISO dates and six decimals."""
    path = out / name
    path.parent.mkdir(parents=True, exist_ok=True)
    weekly.write_csv(path, float_precision=6, date_format="%Y-%m-%d")
    return path


def _usage_schema() -> dict:
    return {
        "acft": pl.Int64,
        "sum_daily_hours": pl.Float64,
        "cycles": pl.Int64,
        "expected_hh": pl.Float64,
    }
