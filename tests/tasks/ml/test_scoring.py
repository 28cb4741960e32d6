"""The champion's forecast: HH with intervals from its calibrated errors, and its identity."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from tasks.ml.candidates import NaiveForecaster
from tasks.ml.scoring import WHAT_IF, forecast_id, predict_weeks

INTERVALS = {
    "method": "split-conformal", "levels": [0.8, 0.95], "min_residuals": 20,
    "pooled": {"n": 52, "0.8": 40.0, "0.95": 70.0},
    "by_horizon": {"1": {"n": 24, "0.8": 25.0, "0.95": 50.0}},
}  # fmt: skip


def planned(lags: list[float]) -> pl.DataFrame:
    start = date(2022, 6, 27)
    return pl.DataFrame(
        {
            "week_start": [start + timedelta(weeks=at) for at in range(len(lags))],
            "horizon_weeks": list(range(1, len(lags) + 1)),
            "plan_file": ["landing/flight_plan/flight_plan_issued_2022-06-27.csv"] * len(lags),
            "plan_issued_at": [start] * len(lags),
            "hh_lag_52": lags,
        }
    )


def test_each_week_gets_its_forecast_and_the_interval_of_its_horizon():
    weeks = predict_weeks(NaiveForecaster("hh_lag_52"), INTERVALS, planned([500.0, 600.0]))
    first, second = weeks.iter_rows(named=True)
    assert first["hh_pred"] == 500.0 and second["hh_pred"] == 600.0
    # horizon 1 has its own quantiles; horizon 2 takes the pooled ones
    assert (first["hh_lower_80"], first["hh_upper_80"]) == (475.0, 525.0)
    assert (first["hh_lower_95"], first["hh_upper_95"]) == (450.0, 550.0)
    assert (second["hh_lower_80"], second["hh_upper_80"]) == (560.0, 640.0)
    assert (second["hh_lower_95"], second["hh_upper_95"]) == (530.0, 670.0)
    assert second["plan_issued_at"] == date(2022, 6, 27)


def test_a_lower_bound_never_goes_below_zero_hours():
    (week,) = predict_weeks(NaiveForecaster("hh_lag_52"), INTERVALS, planned([30.0])).iter_rows(
        named=True
    )
    assert week["hh_lower_95"] == 0.0 and week["hh_upper_95"] == 80.0


def test_a_model_without_intervals_forecasts_with_empty_bounds():
    weeks = predict_weeks(NaiveForecaster("hh_lag_52"), None, planned([500.0]))
    assert weeks["hh_pred"].to_list() == [500.0]
    assert weeks["hh_lower_80"].to_list() == [None] and weeks["hh_upper_95"].to_list() == [None]


def test_a_forecast_is_one_champion_on_one_dataset_version_and_plan_issues():
    plans = [("a.csv", date(2022, 6, 27)), ("b.csv", date(2022, 6, 20))]
    same = forecast_id("m1", "v1", plans)
    assert same == forecast_id("m1", "v1", list(reversed(plans)))  # order does not matter
    assert same != forecast_id("m2", "v1", plans)  # a new champion
    assert same != forecast_id("m1", "v2", plans)  # new actuals
    assert same != forecast_id("m1", "v1", plans[:1])  # another set of issues
    assert forecast_id("m1", "v1", [(WHAT_IF, "run-1")]) != forecast_id(
        "m1", "v1", [(WHAT_IF, "run-2")]
    )


@pytest.mark.parametrize("level", [0.8, 0.95])
def test_the_interval_is_symmetric_around_the_forecast(level):
    weeks = predict_weeks(NaiveForecaster("hh_lag_52"), INTERVALS, planned([1000.0] * 3))
    name = round(level * 100)
    lower, upper = weeks[f"hh_lower_{name}"], weeks[f"hh_upper_{name}"]
    assert ((weeks["hh_pred"] - lower) - (upper - weeks["hh_pred"])).abs().max() == 0


def test_each_week_records_whose_errors_its_interval_stands_on():
    weeks = predict_weeks(NaiveForecaster("hh_lag_52"), INTERVALS, planned([500.0, 600.0]))
    assert weeks["interval_source"].to_list() == ["backtest", "backtest"]
    assert weeks["interval_errors"].to_list() == [52, 52]
    bare = predict_weeks(NaiveForecaster("hh_lag_52"), None, planned([500.0]))
    assert bare["interval_source"].to_list() == [None]
    assert bare["interval_errors"].to_list() == [None]
