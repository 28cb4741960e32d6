"""Synthetic weekly feature tables for training tests: HH linear in utilisation, plus noise."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

FEATURES = ["acft", "sum_daily_hours", "age_fleet", "cycles", "sum_uti_mensal", "n_aircraft"]


def weekly_features(
    weeks: int = 160, seed: int = 1, start: date = date(2020, 1, 6)
) -> pl.DataFrame:
    """Complete weeks shaped like marts.features_weekly: a growing fleet, seasonal flying."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    aircraft = 20 + t // 10
    acft = aircraft * 7 - rng.integers(0, 5, weeks)
    hours = acft * (8 + np.cos(2 * np.pi * t / 52)) + rng.normal(0, 20, weeks)
    cycles = np.rint(hours / 1.8).astype(int)
    age = acft * (20_000 + 40 * t)
    hh = 0.2 * hours + 0.1 * cycles + 0.001 * age / 7 + rng.normal(0, 8, weeks)
    frame = pl.DataFrame(
        {
            "week_start": [start + timedelta(weeks=int(i)) for i in t],
            "acft": acft,
            "sum_daily_hours": hours,
            "age_fleet": age.astype(float),
            "cycles": cycles,
            "sum_uti_mensal": hours * 4.3,
            "n_aircraft": aircraft,
            "hh": hh,
            "is_complete": True,
        }
    )
    return with_lags(frame)


def with_lags(frame: pl.DataFrame) -> pl.DataFrame:
    """The HH lag columns of marts.features_weekly, computed from `hh` as the SQL does."""
    return frame.with_columns(
        hh_lag_52=pl.col("hh").shift(52),
        hh_rolling_4=pl.col("hh").shift(1).rolling_mean(4, min_samples=1),
    )
