"""The auto policy: promote only past the margin, never when the guard metric got worse."""

from __future__ import annotations

import math
from types import SimpleNamespace

import polars as pl
import pytest

from hhcast.config import PromotionSettings
from tasks.ml.promotion import Comparison, auto_verdict

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
