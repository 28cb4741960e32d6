"""The answer key: weekly HH the simulation expects for the studied type, before any noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hhcast.sample.fleet import Fleet

TRUTH_FILE = "truth/weekly_expected_hh.csv"


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


def write_truth(weekly: pl.DataFrame, out: Path) -> Path:
    """Write the weekly answer key as CSV with ISO dates and six decimals."""
    path = out / TRUTH_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    weekly.write_csv(path, float_precision=6, date_format="%Y-%m-%d")
    return path
