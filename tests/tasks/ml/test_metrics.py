"""Forecast errors on numbers worked out by hand."""

from __future__ import annotations

import pytest

from tasks.ml.metrics import forecast_errors, score


def test_errors_of_a_small_forecast():
    m = forecast_errors([10.0, 20.0, 30.0, 40.0], [12.0, 18.0, 33.0, 40.0])
    assert m["mae"] == pytest.approx(7 / 4)
    assert m["rmse"] == pytest.approx((17 / 4) ** 0.5)
    assert m["wape"] == pytest.approx(7 / 100)
    assert m["bias"] == pytest.approx(3 / 4)
    assert m["r2"] == pytest.approx(1 - 17 / 500)


def test_scores_are_losses_whichever_way_the_metric_points():
    m = {"mae": 3.0, "rmse": 4.0, "wape": 0.1, "bias": -2.5, "r2": 0.8}
    assert score(m, "mae") == 3.0
    assert score(m, "abs_bias") == 2.5
    assert score(m, "r2") == -0.8
