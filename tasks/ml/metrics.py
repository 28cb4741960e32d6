"""Forecast errors, and which way is better for each."""

from __future__ import annotations

import numpy as np

METRICS = ("mae", "rmse", "wape", "bias", "r2")
HIGHER_IS_BETTER = {"r2"}


def forecast_errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, WAPE (sum of |error| over sum of |actual|), bias (mean over-forecast), R²."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    error = y_pred - y_true
    spread = float(np.sum((y_true - y_true.mean()) ** 2))
    actual = float(np.sum(np.abs(y_true)))
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "wape": float(np.sum(np.abs(error)) / actual) if actual else float("nan"),
        "bias": float(np.mean(error)),
        "r2": 1.0 - float(np.sum(error**2)) / spread if spread else float("nan"),
    }


def score(metrics: dict[str, float], name: str) -> float:
    """A metric as a loss, lower being better (abs_bias is |bias|; r2 is negated)."""
    if name == "abs_bias":
        return abs(metrics["bias"])
    return -metrics[name] if name in HIGHER_IS_BETTER else metrics[name]


def summarise_folds(folds: list[dict[str, float]]) -> dict[str, float]:
    """Mean and standard deviation of each metric over the backtest folds."""
    summary = {}
    for name in METRICS:
        values = np.array([f[name] for f in folds], dtype=float)
        summary[f"{name}_mean"] = float(values.mean())
        summary[f"{name}_std"] = float(values.std())
    return summary
