"""Prediction intervals: split-conformal quantiles of a model's time-honest forecast errors.

The errors are the backtest folds': each fold's fit forecast weeks it never saw, as a model in
production forecasts the coming weeks. For a level such as 0.8 the interval is the forecast
plus or minus q, q being the ceil((n + 1) * 0.8)-th smallest of the n absolute errors; if the
errors of future weeks are exchangeable with those n, such an interval holds the actual HH with
probability at least 0.8. The holdout's errors are kept out, to check that promise on weeks
the calibration never saw (the `coverage_*` metrics).

A horizon is the number of weeks from the last week the fit trained on (1 = the next week).
Horizons with `min_residuals` errors of their own get their own quantile; every other horizon,
and any beyond the backtest's, uses the pooled one.

Once a champion has forecast for a while, `recalibrate` takes the same quantiles of its own
scored forecast errors (monitoring's ml.forecast_errors, the latest weeks, counted in weeks
rather than errors: one week's forecasts at several horizons miss together): those forecasts ran
on the flight plan as issued, so their errors hold the plan's error, which no backtest on
actual utilisation can, and they are the weeks as they are now rather than as they were in
the backtest's years. Each forecast is calibrated only on errors of weeks scored before it.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl

from hhcast.config import IntervalSettings

METHOD = "split-conformal"
SOURCE = "backtest"  # whose residuals: the backtest folds' out-of-sample weeks
MONITORED = "monitored"  # ... or the champion's own scored forecasts (recalibrate)


def conformal_quantile(
    residuals: np.ndarray, level: float, units: int | None = None
) -> float | None:
    """The ceil((n + 1) * level)-th smallest |residual|, or None when n is too small for it.

    The n + 1 (not n) counts the week being forecast among the exchangeable errors: it is what
    makes the coverage at least `level` for a finite n, not only as n grows. When the n
    residuals come in `units` exchangeable groups (the weeks of forecasts at several horizons),
    the one counted is a group: the ceil(n * level * (units + 1) / units)-th.
    """
    values = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    n = len(values)
    # - 1e-9: a whole rank must stay whole; in floats 10 * 0.7 is 7.000000000000001, not 7
    if units is None:
        rank = math.ceil((n + 1) * level - 1e-9)
    else:
        rank = math.ceil(n * level * (units + 1) / units - 1e-9)
    if rank > n:
        return None
    return float(values[rank - 1])


def horizons(weeks: pl.Series, train_end: date) -> np.ndarray:
    """Weeks from the last training week to each week forecast (1 = the week after)."""
    return ((weeks - train_end).dt.total_days() // 7).to_numpy().astype(int)


def calibrate(residuals: pl.DataFrame, settings: IntervalSettings, folds: int) -> dict:
    """The intervals a model is registered with, from its backtest residuals.

    `residuals` has `horizon` and `residual` (actual - forecast) columns, one row per week a
    backtest fold forecast. Quantiles are None where fewer than `min_residuals` errors exist.
    """
    pooled = residuals["residual"].to_numpy()
    by_horizon = {}
    for (horizon,), group in residuals.group_by("horizon", maintain_order=True):
        if group.height >= settings.min_residuals:
            by_horizon[str(horizon)] = _quantiles(group["residual"].to_numpy(), settings)
    return {
        "method": METHOD,
        "residuals": SOURCE,
        "folds": folds,
        "levels": list(settings.levels),
        "min_residuals": settings.min_residuals,
        "horizons": [int(residuals["horizon"].min()), int(residuals["horizon"].max())]
        if residuals.height
        else None,
        "pooled": _quantiles(pooled, settings),
        "by_horizon": dict(sorted(by_horizon.items(), key=lambda item: int(item[0]))),
    }


def recalibrate(
    errors: np.ndarray, weeks: np.ndarray, levels: list[float], min_weeks: int, window: int
) -> dict | None:
    """Intervals from a champion's scored forecast errors (forecast - actual) and the weeks
    they forecast, pooled over horizons; None while they span fewer than `min_weeks` weeks or
    too few for a level's quantile (the backtest's intervals stay).

    A week is the unit that is exchangeable, not an error: the forecasts of one week at
    horizons 1 to 9 miss by nearly the same amount (the week's own noise outweighs the plan's),
    so 20 errors can be 3 weeks' evidence. Hence the count in weeks, and the finite-sample
    correction on weeks: the quantile at level * (W + 1) / W of the n errors of W weeks, the
    week being forecast counted among them as split conformal counts the next error.
    `window` is how far back the errors reach, kept in the result to say what it stood on.
    """
    n_weeks = len(np.unique(weeks))
    if n_weeks < min_weeks:
        return None
    pooled = {"n": len(errors), "n_weeks": n_weeks}
    for level in levels:
        pooled[level_key(level)] = conformal_quantile(errors, level, units=n_weeks)
    if any(pooled[level_key(level)] is None for level in levels):
        return None
    return {
        "method": METHOD,
        "residuals": MONITORED,
        "weeks": window,
        "levels": list(levels),
        "min_weeks": min_weeks,
        "pooled": pooled,
        "by_horizon": {},
    }


def source(intervals: dict | None) -> str | None:
    """Whose errors an interval stands on: 'backtest', 'monitored', or None for no interval."""
    return None if intervals is None else intervals.get("residuals", SOURCE)


def half_width(intervals: dict | None, level: float, horizon: int) -> float | None:
    """How far either side of the forecast the interval reaches, in HH; None: no interval.

    A horizon with a quantile of its own uses it, any other the pooled one.
    """
    if intervals is None:
        return None
    key = level_key(level)
    if key not in intervals["pooled"]:
        raise ValueError(
            f"no {key} interval: this model's intervals were calibrated at levels "
            f"{intervals['levels']} (training.intervals.levels in hhcast.yaml)"
        )
    own = intervals["by_horizon"].get(str(horizon))
    if own is not None and own[key] is not None:
        return own[key]
    return intervals["pooled"][key]


def coverage(
    intervals: dict | None, y_true: np.ndarray, y_pred: np.ndarray, weeks_ahead: np.ndarray
) -> dict[str, float]:
    """The share of weeks whose actual lies inside the interval, per level (`coverage_80`).

    Levels without an interval (too few residuals) are left out.
    """
    if intervals is None:
        return {}
    errors = np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))
    shares = {}
    for level in intervals["levels"]:
        widths = [half_width(intervals, level, int(h)) for h in weeks_ahead]
        if len(errors) and all(w is not None for w in widths):
            shares[coverage_key(level)] = float(np.mean(errors <= np.array(widths)))
    return shares


def level_key(level: float) -> str:
    """How a level is named in the intervals' JSON: 0.8 -> '0.8'."""
    return f"{level:g}"


def coverage_key(level: float) -> str:
    """How a level's coverage is named among a model's metrics: 0.8 -> 'coverage_80'."""
    return f"coverage_{level * 100:g}"


def coverage_text(metrics: dict[str, float]) -> str:
    """A model's holdout coverage per level, for logs and reports: '80%: 84.6%, 95%: 96.2%'."""
    shown = [
        f"{key.removeprefix('coverage_')}%: {value:.1%}"
        for key, value in metrics.items()
        if key.startswith("coverage_")
    ]
    return ", ".join(shown) or "n/a (no intervals)"


def _quantiles(residuals: np.ndarray, settings: IntervalSettings) -> dict:
    enough = len(residuals) >= settings.min_residuals
    return {
        "n": len(residuals),
        **{
            level_key(level): conformal_quantile(residuals, level) if enough else None
            for level in settings.levels
        },
    }
