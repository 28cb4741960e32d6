"""The pipeline through the degraded path: the monitor opens an alert on the weeks a drift made
wrong, the same run retrains and promotes, the forecast comes from the new champion, and the
next run closes the old champion's alert."""

from __future__ import annotations

from datetime import date

import pytest

from flows.pipeline import pipeline
from hhcast.config import load_settings
from hhcast.sample import generate
from warehouse.connection import connect

QUICK = (
    "{naive_last_year: {algorithm: naive, params: {column: hh_lag_52, fallback: hh_rolling_4}},"
    " ridge: {algorithm: linear, params: {alpha: 1.0}}}"
)
DRIFT_FROM = date(2022, 4, 1)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory, prefect_harness):
    """The pipeline on exports up to 2022-03-31, then on April and May, in which each flight
    hour causes 1.5 times the work."""
    out = tmp_path_factory.mktemp("pipeline")
    generate(out / "first", preset="small", seed=7, end=date(2022, 3, 31))
    generate(
        out / "later", preset="small", seed=7, start=DRIFT_FROM, end=date(2022, 5, 31),
        drift_from=DRIFT_FROM, drift_factor=1.5,
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "HHCAST_LAKE": str(out / "lake"),
            "HHCAST_WAREHOUSE": str(out / "warehouse" / "hhcast.duckdb"),
            "HHCAST_INGEST__WORKER_PROCESSES": "0",
            "HHCAST_TRAINING__CANDIDATES": QUICK,
        }.items():
            env.setenv(name, value)
        first = pipeline(source=str(out / "first" / "landing"), return_state=True).result()
        later = pipeline(source=str(out / "later" / "landing"), return_state=True).result()
        again = pipeline(source=str(out / "later" / "landing"), return_state=True).result()
        yield load_settings(), first, later, again


def test_a_degradation_alert_retrains_in_the_same_run_and_the_new_champion_forecasts(drifted):
    _, first, later, _ = drifted
    before = first.champion
    assert first.forecast.model_id == before.model_id
    # April's weeks are complete with May delivered: far worse than the champion knew
    assert later.monitored.weeks_scored > 0
    assert later.monitored.alert == "open"
    assert any(b.startswith("MAE ") for b in later.monitored.verdict.breaches)
    # fewer new weeks than training.retrain_after_weeks: only the alert made it train
    assert later.train is not None, later.train_skipped
    after = later.champion
    assert after.model_id != before.model_id
    assert later.forecast.model_id == after.model_id


def test_the_next_run_closes_the_replaced_champions_alert_and_trains_nothing(drifted):
    settings, first, later, again = drifted
    assert again.train is None and again.train_skipped
    with connect(settings.warehouse, read_only=True) as con:
        alerts = con.execute("select model_id, closed_reason from ml.alerts").fetchall()
    assert alerts == [
        (first.champion.model_id, f"replaced as champion by {later.champion.model_id}")
    ]
