"""Training on time: no future week or holdout row reaches a scored fit (the production fit
learns them all), intervals come from unseen weeks only, and a seed fixes the result."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from functools import cache

import numpy as np
import polars as pl
import pytest
from weekly_rows import FEATURES, weekly_features, with_lags

from hhcast.config import TrainingSettings
from tasks.ml.dataset import time_split
from tasks.ml.intervals import conformal_quantile
from tasks.ml.training import (
    TrainedCandidate,
    out_of_sample_score,
    pick_challenger,
    train_candidate,
)

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


@cache
def trained_on_160_weeks(name: str, poisoned_holdout: bool = False) -> TrainedCandidate:
    """The candidate trained on weekly_features(160), its holdout poisoned if asked; once per
    session, for the tests that only read that training (an MLP's costs seconds). The tests
    of the seed train again beside it."""
    weeks = weekly_features(160)
    if poisoned_holdout:
        weeks = poison_from(weeks, time_split(weeks, CONFIG).holdout.test["week_start"].min())
    return train_candidate(name, CONFIG.candidates[name], time_split(weeks, CONFIG), CONFIG)


@pytest.mark.parametrize("name", ["naive", "ridge", "trees", "mlp"])
def test_holdout_weeks_never_reach_a_scored_fit_but_do_reach_the_production_fit(name):
    split = time_split(weekly_features(160), CONFIG)
    clean = trained_on_160_weeks(name)
    poisoned = trained_on_160_weeks(name, poisoned_holdout=True)
    assert [f.metrics for f in poisoned.folds] == [f.metrics for f in clean.folds]
    # were a scaler fitted on holdout rows, the same clean rows would be forecast differently
    same_rows = split.holdout.test
    np.testing.assert_array_equal(
        poisoned.forecaster.predict(same_rows), clean.forecaster.predict(same_rows)
    )
    if name == "naive":  # last year's week lies before the holdout: no holdout HH is read
        assert poisoned.predictions["y_pred"].to_list() == clean.predictions["y_pred"].to_list()
    else:  # the production fit learnt the holdout weeks: poisoned, it forecasts otherwise
        changed = poisoned.production.forecaster.predict(same_rows)
        assert np.abs(changed - clean.production.forecaster.predict(same_rows)).max() > 1.0


@pytest.mark.parametrize("name", ["naive", "ridge", "trees", "mlp"])
def test_the_production_fit_spans_every_complete_week_and_the_scored_fit_ends_before_the_holdout(
    name,
):
    split = time_split(weekly_features(160), CONFIG)
    trained = trained_on_160_weeks(name)
    holdout_start, last_week = split.holdout_window
    assert trained.holdout.train_end < holdout_start
    assert trained.holdout.train_end == split.holdout.train["week_start"].max()
    assert (trained.production.train_start, trained.production.train_end) == (
        split.production_window
    )
    assert trained.production.train_end == last_week  # the newest complete week
    learnt = 160 - (52 if name == "naive" else 0)  # the baseline needs last year's week
    assert trained.production.n_train == learnt
    assert trained.holdout.n_train == learnt - 26


def test_the_production_scaler_learnt_every_week_and_the_scored_one_not_the_holdout():
    weeks = weekly_features(160)
    split = time_split(weeks, CONFIG)
    trained = train_candidate("ridge", CONFIG.candidates["ridge"], split, CONFIG)
    scored, production = trained.forecaster.estimator[0], trained.production.forecaster.estimator[0]
    np.testing.assert_allclose(scored.mean_, split.holdout.train.select(FEATURES).mean().row(0))
    np.testing.assert_allclose(production.mean_, weeks.select(FEATURES).mean().row(0))
    assert (scored.n_samples_seen_, production.n_samples_seen_) == (134, 160)


@pytest.mark.parametrize("name", ["ridge", "trees", "mlp"])
def test_a_change_in_the_holdout_weeks_reaches_only_the_production_fit(name):
    """A fleet change the features do not explain (every week from the holdout on needs 60 HH
    more): the scored fit cannot know it, the production fit has learnt part of it."""
    weeks = weekly_features(160)
    split = time_split(weeks, CONFIG)
    holdout_start = split.holdout.test["week_start"].min()
    changed = with_lags(
        weeks.with_columns(
            hh=pl.when(pl.col("week_start") >= holdout_start)
            .then(pl.col("hh") + 60)
            .otherwise(pl.col("hh"))
        )
    )
    trained = train_candidate(name, CONFIG.candidates[name], time_split(changed, CONFIG), CONFIG)
    holdout = time_split(changed, CONFIG).holdout.test
    scored = trained.forecaster.predict(holdout)
    production = trained.production.forecaster.predict(holdout)
    actual = holdout["hh"].to_numpy()
    assert np.mean(production - scored) > 2  # it moved up, towards the new level
    assert np.mean(np.abs(production - actual)) < np.mean(np.abs(scored - actual))


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


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_the_same_seed_gives_the_same_metrics(name):
    split = time_split(weekly_features(160), CONFIG)
    first = trained_on_160_weeks(name)  # trained earlier in the session, or now
    second = train_candidate(name, CONFIG.candidates[name], split, CONFIG)
    assert first.metrics == second.metrics
    assert first.predictions.equals(second.predictions)


def test_a_seeded_network_ignores_other_threads_drawing_random_numbers():
    """Prefect's background services share the process: their draws from Python's global
    `random` must not change a seeded network's initial weights (CI once saw exactly that)."""
    split = time_split(weekly_features(160), CONFIG)
    mlp = CONFIG.candidates["mlp"]
    alone = trained_on_160_weeks("mlp")
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


def test_the_challenger_is_chosen_on_every_out_of_sample_week():
    split = time_split(weekly_features(160), CONFIG)
    trained = [train_candidate(n, CONFIG.candidates[n], split, CONFIG) for n in ("naive", "ridge")]
    naive, ridge = trained
    assert pick_challenger(trained, "mae").name == "ridge"
    # ridge fits the linear truth: its holdout error is near the noise (sd 8 HH/week)
    assert ridge.holdout.metrics["mae"] < 12 < naive.holdout.metrics["mae"]
    # the MAE over the 2 x 13 backtest weeks and the 26 holdout weeks, each week once
    weeks = [*ridge.folds, ridge.holdout]
    expected = sum(s.metrics["mae"] * s.n_test for s in weeks) / sum(s.n_test for s in weeks)
    assert out_of_sample_score(ridge, "mae") == pytest.approx(expected)
    # a leader of the backtest that fails on the newest weeks is not the challenger
    worse = {**naive.holdout.metrics, "mae": 10 * naive.holdout.metrics["mae"]}
    collapsed = replace(ridge, holdout=replace(ridge.holdout, metrics=worse))
    assert pick_challenger([naive, collapsed], "mae").name == "naive"


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_intervals_come_only_from_backtest_weeks_the_fold_had_not_seen(name):
    split = time_split(weekly_features(160), CONFIG)
    trained = trained_on_160_weeks(name)
    residuals = trained.residuals
    # one error per week each fold forecast, each after the last week its fit learnt
    assert residuals.height == CONFIG.backtest_folds * CONFIG.fold_weeks
    for fold in split.folds:
        own = residuals.filter(pl.col("fold") == fold.number)
        assert own["week_start"].to_list() == fold.test["week_start"].to_list()
        assert own["week_start"].min() > fold.train["week_start"].max()
        assert own["horizon"].to_list() == list(range(1, CONFIG.fold_weeks + 1))
    assert residuals["week_start"].max() < split.holdout.test["week_start"].min()
    pooled = trained.intervals["pooled"]
    assert pooled["n"] == 39
    for level in (0.8, 0.95):
        assert pooled[f"{level:g}"] == conformal_quantile(residuals["residual"].to_numpy(), level)
    assert trained.intervals["by_horizon"] == {}  # 3 folds: 3 errors a horizon, fewer than 20

    # Poison the holdout (its errors explode): the intervals do not move, the coverage does.
    poisoned = trained_on_160_weeks(name, poisoned_holdout=True)
    assert poisoned.intervals == trained.intervals
    assert poisoned.residuals.equals(trained.residuals)
    if name != "naive":  # the baseline reads last year's clean weeks: its errors stay small
        assert poisoned.holdout.metrics["coverage_95"] < trained.holdout.metrics["coverage_95"]


def test_holdout_coverage_is_the_share_of_holdout_weeks_inside_the_intervals():
    split = time_split(weekly_features(160), CONFIG)
    trained = train_candidate("ridge", CONFIG.candidates["ridge"], split, CONFIG)
    errors = (trained.predictions["y_true"] - trained.predictions["y_pred"]).abs().to_numpy()
    for level, key in [(0.8, "coverage_80"), (0.95, "coverage_95")]:
        width = trained.intervals["pooled"][f"{level:g}"]
        assert trained.holdout.metrics[key] == pytest.approx(np.mean(errors <= width))
        assert trained.metrics[key] == trained.holdout.metrics[key]  # what the registry keeps
    assert "coverage_80" not in trained.folds[0].metrics  # the folds calibrate, not check
