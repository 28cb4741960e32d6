"""The auto policy: promote only past the margin, never when the guard metric got worse; the
champion re-scored, its intervals' coverage with it."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import polars as pl
import pytest
from test_training import CONFIG
from weekly_rows import weekly_features

from hhcast.config import PromotionSettings
from tasks.ml.dataset import time_split
from tasks.ml.promotion import Comparison, auto_verdict, compare, report
from tasks.ml.registry import ModelRecord
from tasks.ml.training import TrainedCandidate, train_candidate

POLICY = PromotionSettings(margin=0.02, guard_metric="rmse", guard_tolerance=0.0)


def comparison(challenger: dict, champion: dict) -> Comparison:
    """Champion and challenger scored on the same weeks, with these metrics."""
    new = SimpleNamespace(model_id="ridge-new", holdout=SimpleNamespace(metrics=challenger))
    return Comparison(new, SimpleNamespace(model_id="naive-old"), champion, pl.DataFrame(), 0)


def metrics(mae: float, rmse: float, r2: float = 0.5, bias: float = 0.0) -> dict:
    return {"mae": mae, "rmse": rmse, "wape": mae / 100, "bias": bias, "r2": r2}


@pytest.mark.parametrize(
    ("challenger", "champion", "promote", "why"),
    [
        (metrics(97.0, 120.0), metrics(100.0, 120.0), True, "MAE 97.00 vs 100.00 (-3.0%"),
        (metrics(98.5, 110.0), metrics(100.0, 120.0), False, "needs 2% better"),
        (metrics(90.0, 121.0), metrics(100.0, 120.0), False, "but worse on the guard: RMSE"),
        (metrics(100.0, 120.0), metrics(100.0, 120.0), False, "needs 2% better"),
        (metrics(90.0, math.nan), metrics(100.0, 120.0), False, "undefined"),
    ],
    ids=["past-the-margin", "inside-the-margin", "guard-worse", "tie", "nan-guard"],
)
def test_auto_promotes_only_past_the_margin_with_the_guard_held(challenger, champion, promote, why):
    decided, reason = auto_verdict(comparison(challenger, champion), POLICY, "mae")
    assert decided is promote
    assert why in reason


def test_a_higher_is_better_primary_metric_is_compared_the_right_way_round():
    better, worse = metrics(100.0, 100.0, r2=0.9), metrics(100.0, 100.0, r2=0.6)
    assert auto_verdict(comparison(better, worse), POLICY, "r2")[0] is True
    assert auto_verdict(comparison(worse, better), POLICY, "r2")[0] is False


def test_guard_tolerance_lets_a_slightly_worse_guard_through():
    lenient = PromotionSettings(margin=0.02, guard_metric="rmse", guard_tolerance=0.05)
    challenger, champion = metrics(90.0, 124.0), metrics(100.0, 120.0)
    assert auto_verdict(comparison(challenger, champion), POLICY, "mae")[0] is False
    assert auto_verdict(comparison(challenger, champion), lenient, "mae")[0] is True


def record_of(trained: TrainedCandidate, intervals: dict | None) -> ModelRecord:
    """The registry row of a trained candidate, as the champion is read back."""
    return ModelRecord(
        model_id=trained.model_id, candidate=trained.name, algorithm=trained.algorithm,
        features=trained.features, dataset_version="v1", train_start=trained.holdout.train_start,
        train_end=trained.holdout.train_end, holdout_start=trained.holdout.test_start,
        holdout_end=trained.holdout.test_end, metrics=trained.metrics, artifact_uri="scored",
        artifact_sha256="sha", created_at=datetime.now(UTC), status="champion",
        intervals=intervals,
    )  # fmt: skip


def test_the_champions_intervals_are_checked_on_the_challengers_holdout_weeks():
    split = time_split(weekly_features(160), CONFIG)
    naive, ridge = (
        train_candidate(n, CONFIG.candidates[n], split, CONFIG) for n in ("naive", "ridge")
    )
    # the same model as champion and challenger: re-scored, it has the challenger's numbers
    same = compare(
        ridge, record_of(ridge, ridge.intervals), ridge.forecaster, "hh", split.holdout.test
    )
    assert same.champion_metrics == ridge.holdout.metrics
    assert {"coverage_80", "coverage_95"} <= same.champion_metrics.keys()
    # a champion registered before intervals existed has no coverage to show
    old = compare(ridge, record_of(naive, None), naive.forecaster, "hh", split.holdout.test)
    assert "coverage_80" not in old.champion_metrics
    text = report(old, [naive, ridge], "auto would promote")
    assert "champion n/a (no intervals); challenger 80%:" in text
    assert f"with its scored fit (weeks {naive.holdout.train_start} to " in text
