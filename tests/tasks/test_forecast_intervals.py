"""The intervals a forecast is made with: the champion's backtest's until its own scored
forecasts span enough weeks, then recalibrated on those of the latest weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from hhcast.config import IntervalSettings
from tasks.forecast import forecast_intervals
from tasks.ml.intervals import conformal_quantile
from tasks.ml.registry import ModelRecord
from warehouse.connection import connect, ensure_schema

BACKTEST = {
    "method": "split-conformal", "residuals": "backtest", "levels": [0.8, 0.95],
    "min_residuals": 20, "pooled": {"n": 52, "0.8": 40.0, "0.95": 70.0}, "by_horizon": {},
}  # fmt: skip
LATEST = date(2024, 6, 24)


def champion(model_id: str = "ridge-1") -> ModelRecord:
    day = date(2023, 6, 26)
    return ModelRecord(
        model_id=model_id, candidate="ridge", algorithm="linear", features=["acft"],
        dataset_version="v1", train_start=date(2019, 7, 1), train_end=day, holdout_start=day,
        holdout_end=day, metrics={}, artifact_uri="x", artifact_sha256="y",
        created_at=datetime.now(UTC), status="champion", intervals=BACKTEST,
    )  # fmt: skip


@pytest.fixture
def con(tmp_path):
    with connect(tmp_path / "hhcast.duckdb") as con:
        ensure_schema(con)
        yield con


def score(
    con, model_id: str, errors: list[float], *, last: date = LATEST, forecast: str = "f"
) -> None:
    """Scored forecast weeks of `model_id`, one a week back from `last`, with these errors."""
    for at, error in enumerate(errors):
        week = last - timedelta(weeks=at)
        con.execute(
            "insert into ml.forecast_errors values (?, ?, ?, 'plan.csv', null, 1, 500, "
            "500 + ?, ?, abs(?), null, null, null, null, 'monitor-1', now())",
            [f"{forecast}-{model_id}-{at}", week, model_id, error, error, error],
        )


def test_the_backtest_stands_until_the_champion_has_enough_scored_forecasts(con):
    score(con, "ridge-1", [10.0] * 19)
    assert forecast_intervals(con, champion(), IntervalSettings()) is BACKTEST


def test_many_forecasts_of_few_weeks_are_not_enough(con):
    for issue in range(8):  # 8 forecasts of each of 5 weeks: 40 errors, 5 weeks' evidence
        score(con, "ridge-1", [10.0] * 5, forecast=f"issue{issue}")
    assert forecast_intervals(con, champion(), IntervalSettings()) is BACKTEST


def test_enough_scored_forecasts_recalibrate_on_their_own_errors(con):
    rng = np.random.default_rng(3)
    errors = list(rng.normal(0, 25, size=40))
    score(con, "ridge-1", errors)
    score(con, "ridge-0", [500.0] * 40)  # the previous champion's misses are not this one's
    intervals = forecast_intervals(con, champion(), IntervalSettings())
    assert intervals["residuals"] == "monitored" and intervals["pooled"]["n"] == 40
    for level in (0.8, 0.95):
        assert intervals["pooled"][f"{level:g}"] == conformal_quantile(np.array(errors), level)
    assert intervals["pooled"]["0.8"] < BACKTEST["pooled"]["0.8"]  # calmer than its backtest


def test_only_the_latest_weeks_count(con):
    score(con, "ridge-1", [100.0] * 30, last=LATEST - timedelta(weeks=60))  # a year ago and more
    score(con, "ridge-1", [5.0] * 20)  # the last 20 weeks
    intervals = forecast_intervals(con, champion(), IntervalSettings(monitored_weeks=52))
    assert intervals["pooled"]["n"] == 20 and intervals["pooled"]["0.95"] == 5.0


def test_monitored_weeks_zero_keeps_the_backtest(con):
    score(con, "ridge-1", [10.0] * 40)
    assert forecast_intervals(con, champion(), IntervalSettings(monitored_weeks=0)) is BACKTEST
