"""Split-conformal intervals: the (n + 1) rule on exact values, horizons with enough errors of
their own, the pooled quantile for the rest, and coverage counted week by week."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from hhcast.config import IntervalSettings
from tasks.ml.intervals import (
    calibrate,
    conformal_quantile,
    coverage,
    half_width,
    horizons,
    recalibrate,
)

SETTINGS = IntervalSettings(levels=[0.8, 0.95], min_residuals=20)


def test_the_quantile_is_the_ceil_n_plus_one_times_level_th_smallest_absolute_error():
    # |residuals| 1..20, signs alternating: the sign does not matter, the order does not either
    residuals = np.array([(-1) ** k * k for k in range(20, 0, -1)], dtype=float)
    # 0.8: ceil(21 x 0.8) = ceil(16.8) = 17th smallest; the n-rule's ceil(20 x 0.8) = 16 is not it
    assert conformal_quantile(residuals, 0.8) == 17.0
    # 0.95: ceil(21 x 0.95) = ceil(19.95) = 20th, the largest
    assert conformal_quantile(residuals, 0.95) == 20.0
    # 19 errors: ceil(20 x 0.95) = 19 exactly (no float rounding up to the 20th, which is absent)
    assert conformal_quantile(residuals[1:], 0.95) == 19.0
    # 18 errors cannot promise 95 %: the 19th smallest does not exist
    assert conformal_quantile(residuals[2:], 0.95) is None
    # a whole rank stays whole: ceil(10 x 0.7) = 7, though 10 * 0.7 is 7.000000000000001
    assert conformal_quantile(np.arange(1.0, 10.0), 0.7) == 7.0


def test_a_horizon_gets_its_own_quantile_only_with_enough_errors_else_the_pooled_one():
    residuals = pl.DataFrame(
        {
            "horizon": [1] * 20 + [2] * 5,
            "residual": [float(k) for k in range(1, 21)] + [100.0] * 5,
        }
    )
    intervals = calibrate(residuals, SETTINGS, folds=4)
    # pooled, 25 errors: the ceil(26 x 0.8) = 21st smallest is already one of the five 100s
    assert intervals["pooled"] == {"n": 25, "0.8": 100.0, "0.95": 100.0}
    assert intervals["by_horizon"] == {"1": {"n": 20, "0.8": 17.0, "0.95": 20.0}}
    assert (intervals["residuals"], intervals["folds"], intervals["horizons"]) == (
        "backtest", 4, [1, 2]
    )  # fmt: skip
    assert half_width(intervals, 0.8, 1) == 17.0
    assert half_width(intervals, 0.8, 2) == 100.0  # 5 errors: pooled
    assert half_width(intervals, 0.95, 26) == 100.0  # beyond the backtest's horizons: pooled
    with pytest.raises(ValueError, match=r"calibrated at levels \[0.8, 0.95\]"):
        half_width(intervals, 0.9, 1)


def test_fewer_errors_than_the_minimum_give_no_interval_and_no_coverage():
    residuals = pl.DataFrame({"horizon": list(range(1, 14)), "residual": [1.0] * 13})
    intervals = calibrate(residuals, SETTINGS, folds=1)
    assert intervals["pooled"] == {"n": 13, "0.8": None, "0.95": None}
    assert half_width(intervals, 0.8, 1) is None
    assert coverage(intervals, np.ones(3), np.ones(3), np.array([1, 2, 3])) == {}
    assert half_width(None, 0.8, 1) is None  # a model registered before intervals existed


def test_coverage_counts_the_weeks_whose_actual_lies_inside_the_interval():
    residuals = pl.DataFrame({"horizon": [1] * 20, "residual": [float(k) for k in range(1, 21)]})
    intervals = calibrate(residuals, SETTINGS, folds=4)  # 17 at 0.8, 20 at 0.95 (all horizons)
    actual = np.array([100.0, 100.0, 100.0, 100.0])
    forecast = np.array([100.0, 117.0, 82.0, 121.0])  # errors 0, 17 (on the edge), 18, 21
    shares = coverage(intervals, actual, forecast, np.array([1, 2, 3, 4]))
    assert shares == {"coverage_80": 0.5, "coverage_95": 0.75}


def test_a_horizon_counts_weeks_from_the_last_training_week():
    weeks = pl.Series([date(2021, 1, 11), date(2021, 1, 18), date(2021, 4, 5)])
    assert horizons(weeks, date(2021, 1, 4)).tolist() == [1, 2, 13]


@pytest.mark.parametrize("levels", [[0.8, 1.0], [0.0], []])
def test_levels_outside_zero_to_one_are_refused(levels):
    with pytest.raises(ValueError, match="between 0 and 1"):
        IntervalSettings(levels=levels)


def test_fewer_than_twenty_residuals_cannot_be_configured():
    with pytest.raises(ValueError, match="greater than or equal to 20"):
        IntervalSettings(min_residuals=10)


def test_recalibration_takes_the_conformal_quantiles_of_the_scored_errors_pooled():
    errors = np.arange(1.0, 41.0) * np.where(np.arange(40) % 2, 1, -1)  # signs do not matter
    weeks = np.arange(40)  # one forecast a week: the correction is split conformal's n + 1
    intervals = recalibrate(errors, weeks, [0.8, 0.95], min_weeks=20, window=52)
    assert intervals["residuals"] == "monitored" and intervals["pooled"]["n"] == 40
    assert intervals["pooled"]["0.8"] == 33.0  # ceil(41 * 0.8) = 33rd smallest |error|
    assert intervals["pooled"]["0.95"] == 39.0  # ceil(41 * 0.95) = 39th
    assert half_width(intervals, 0.8, 1) == half_width(intervals, 0.8, 9) == 33.0
    assert recalibrate(errors[:19], weeks[:19], [0.8, 0.95], min_weeks=20, window=52) is None


def test_recalibration_counts_weeks_not_errors():
    """Eight horizons of one week miss together: 40 errors of 5 weeks are 5 weeks' evidence."""
    errors = np.arange(1.0, 41.0)
    assert recalibrate(errors, np.repeat(np.arange(5), 8), [0.8], 20, 52) is None
    errors = np.arange(1.0, 161.0)  # 160 errors of 20 weeks, 8 each
    weeks = np.repeat(np.arange(20), 8)
    intervals = recalibrate(errors, weeks, [0.8, 0.95], min_weeks=20, window=52)
    assert intervals["pooled"]["n"] == 160 and intervals["pooled"]["n_weeks"] == 20
    # the quantile at 0.8 * 21 / 20 = 0.84: the 135th smallest; counted per error it would
    # be ceil(161 * 0.8) = the 129th, too narrow for one more week of 8 errors
    assert intervals["pooled"]["0.8"] == 135.0 > conformal_quantile(errors, 0.8) == 129.0
    assert intervals["pooled"]["0.95"] == 160.0  # 0.95 * 21 / 20 = 0.9975: the 160th
