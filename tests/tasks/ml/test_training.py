"""Training on time: no future week or holdout row reaches a fit, and a seed fixes the result."""

from __future__ import annotations

import random
import threading
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from weekly_rows import FEATURES, weekly_features, with_lags

from hhcast.config import TrainingSettings
from tasks.ml.dataset import time_split
from tasks.ml.training import pick_challenger, train_candidate

CANDIDATES = {
    "naive": {"algorithm": "naive", "params": {"column": "hh_lag_52", "fallback": "hh_rolling_4"}},
    "ridge": {"algorithm": "linear", "params": {"alpha": 1.0}},
    "trees": {"algorithm": "tree", "params": {"max_iter": 50}},
    "mlp": {
        "algorithm": "mlp",
        "params": {"hidden_units": [16, 16], "epochs": 3, "batch_size": 32, "learning_rate": 0.01},
    },
}
CONFIG = TrainingSettings(
    features=FEATURES,
    holdout_weeks=26,
    backtest_folds=3,
    fold_weeks=13,
    min_train_weeks=52,
    candidates=CANDIDATES,
)


def poison_from(weeks: pl.DataFrame, first_week) -> pl.DataFrame:
    """Blow up every feature and the target from `first_week` on, and the lags that read it."""
    late = pl.col("week_start") >= first_week
    return with_lags(
        weeks.with_columns(
            pl.when(late).then(pl.col(c) * 1000).otherwise(pl.col(c)).alias(c)
            for c in [*FEATURES, "hh"]
        )
    )


@pytest.mark.parametrize("name", ["naive", "ridge", "trees", "mlp"])
def test_holdout_weeks_never_reach_a_fit_or_a_scaler(name):
    weeks = weekly_features(160)
    split = time_split(weeks, CONFIG)
    holdout_start = split.holdout.test["week_start"].min()
    clean = train_candidate(name, CONFIG.candidates[name], split, CONFIG)
    poisoned = train_candidate(
        name, CONFIG.candidates[name], time_split(poison_from(weeks, holdout_start), CONFIG), CONFIG
    )
    assert [f.metrics for f in poisoned.folds] == [f.metrics for f in clean.folds]
    # were a scaler fitted on holdout rows, the same clean rows would be forecast differently
    same_rows = split.holdout.test
    np.testing.assert_array_equal(
        poisoned.forecaster.predict(same_rows), clean.forecaster.predict(same_rows)
    )
    if name == "naive":  # last year's week lies before the holdout: no holdout HH is read
        assert poisoned.predictions["y_pred"].to_list() == clean.predictions["y_pred"].to_list()


def test_a_fold_never_sees_the_weeks_after_its_origin():
    weeks = weekly_features(160)
    split = time_split(weeks, CONFIG)
    second_fold_start = split.folds[1].test["week_start"].min()
    clean = train_candidate("ridge", CONFIG.candidates["ridge"], split, CONFIG)
    later_changed = train_candidate(
        "ridge",
        CONFIG.candidates["ridge"],
        time_split(poison_from(weeks, second_fold_start), CONFIG),
        CONFIG,
    )
    assert later_changed.folds[0].metrics == clean.folds[0].metrics
    assert later_changed.folds[1].metrics != clean.folds[1].metrics  # the poison does show


def test_the_scaler_of_the_registered_model_learnt_from_pre_holdout_weeks_only():
    weeks = weekly_features(160)
    split = time_split(weeks, CONFIG)
    trained = train_candidate("ridge", CONFIG.candidates["ridge"], split, CONFIG)
    scaler = trained.forecaster.estimator[0]
    expected = split.holdout.train.select(FEATURES).mean().row(0)
    np.testing.assert_allclose(scaler.mean_, expected)
    assert trained.holdout.n_train == 134


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_the_same_seed_gives_the_same_metrics(name):
    split = time_split(weekly_features(160), CONFIG)
    first = train_candidate(name, CONFIG.candidates[name], split, CONFIG)
    second = train_candidate(name, CONFIG.candidates[name], split, CONFIG)
    assert first.metrics == second.metrics
    assert first.predictions.equals(second.predictions)


def test_a_seeded_network_ignores_other_threads_drawing_random_numbers():
    """Prefect's background services share the process: their draws from Python's global
    `random` must not change a seeded network's initial weights (CI once saw exactly that)."""
    split = time_split(weekly_features(160), CONFIG)
    mlp = CONFIG.candidates["mlp"]
    alone = train_candidate("mlp", mlp, split, CONFIG)
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()
            np.random.random()

    other = threading.Thread(target=draw, daemon=True)
    other.start()
    try:
        busy = train_candidate("mlp", mlp, split, CONFIG)
    finally:
        stop.set()
        other.join()
    assert busy.metrics == alone.metrics
    assert busy.predictions.equals(alone.predictions)


def test_the_challenger_is_chosen_on_the_backtest_not_the_holdout():
    split = time_split(weekly_features(160), CONFIG)
    trained = [train_candidate(n, CONFIG.candidates[n], split, CONFIG) for n in ("naive", "ridge")]
    naive, ridge = trained
    assert pick_challenger(trained, "mae").name == "ridge"
    # ridge fits the linear truth: its holdout error is near the noise (sd 8 HH/week)
    assert ridge.holdout.metrics["mae"] < 12 < naive.holdout.metrics["mae"]
    # with the holdout scores swapped, the backtest still decides
    swapped = [replace(naive, holdout=ridge.holdout), replace(ridge, holdout=naive.holdout)]
    assert pick_challenger(swapped, "mae").name == "ridge"
