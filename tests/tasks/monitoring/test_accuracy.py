"""Forecast figures once the actuals are in: error, skill against last year, coverage."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest

from tasks.monitoring.accuracy import accuracy, windows


def scored(rows: list[tuple]) -> pl.DataFrame:
    """(actual, predicted, lower_80, upper_80, lower_95, upper_95, naive, horizon) per week."""
    start = date(2025, 1, 6)
    return pl.DataFrame(
        [
            {
                "week_start": start + timedelta(weeks=at), "hh_actual": a, "hh_pred": p,
                "hh_lower_80": l80, "hh_upper_80": u80, "hh_lower_95": l95, "hh_upper_95": u95,
                "hh_seasonal_naive": naive, "horizon_weeks": h,
            }
            for at, (a, p, l80, u80, l95, u95, naive, h) in enumerate(rows)
        ]
    )  # fmt: skip


def test_the_figures_of_four_weeks():
    figures = accuracy(
        scored(
            [
                (100, 110, 90, 120, 80, 130, 120, 1),  # inside both
                (100, 80, 60, 95, 50, 130, 60, 1),  # outside 80, inside 95
                (200, 190, 180, 210, 170, 220, 150, 2),  # inside both
                (200, 260, 240, 280, 230, 290, 200, 2),  # outside both
            ]
        )
    )
    assert figures["mae"] == pytest.approx((10 + 20 + 10 + 60) / 4)
    assert figures["bias"] == pytest.approx((10 - 20 - 10 + 60) / 4)
    assert figures["wape"] == pytest.approx(100 / 600)
    assert figures["mase"] == pytest.approx(25 / ((20 + 40 + 50 + 0) / 4))
    assert figures["coverage_80"] == pytest.approx(0.5)
    assert figures["coverage_95"] == pytest.approx(0.75)
    assert figures["width_80"] == pytest.approx((30 + 35 + 30 + 40) / 4)
    assert figures["width_95"] == pytest.approx((50 + 80 + 50 + 60) / 4)
    assert figures["n_weeks"] == 4


def test_a_model_without_intervals_has_no_coverage_rather_than_zero():
    rows = scored([(100, 110, None, None, None, None, 90, 1)])
    figures = accuracy(rows)
    assert figures["mae"] == 10 and math.isnan(figures["coverage_80"])


def test_windows_are_the_latest_weeks_and_each_horizon():
    rows = scored([(100, 100, 0, 0, 0, 0, 100, 1 + at % 2) for at in range(30)])
    cut = dict(windows(rows, [4, 13, 26]))
    assert cut["last_4_weeks"].height == 4
    assert cut["last_4_weeks"]["week_start"].min() == rows["week_start"].sort()[-4]
    assert cut["last_26_weeks"].height == 26
    assert cut["horizon_1"].height == 15 and cut["horizon_2"].height == 15
