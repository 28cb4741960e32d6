"""How good the forecasts were once the actuals came: error, bias, skill and interval coverage."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from tasks.ml.metrics import forecast_errors

ACCURACY_METRICS = (
    "mae", "rmse", "wape", "bias", "mase", "coverage_80", "coverage_95", "width_80", "width_95",
)  # fmt: skip


def accuracy(scored: pl.DataFrame) -> dict[str, float]:
    """The figures of a set of forecast weeks, each with its actual.

    `scored` has hh_actual, hh_pred, the 80 % and 95 % bounds (hh_lower_80 ... hh_upper_95)
    and hh_seasonal_naive (the actual of the same week a year before): MASE divides the MAE by
    that naive forecast's on the same weeks, so below 1 means better than "same as last year".
    Bounds may be null (a model registered without intervals): coverage is then NaN.
    """
    if scored.is_empty():
        return {name: math.nan for name in ACCURACY_METRICS} | {"n_weeks": 0}
    actual = scored["hh_actual"].to_numpy().astype(float)
    predicted = scored["hh_pred"].to_numpy().astype(float)
    figures = forecast_errors(actual, predicted)
    naive = scored["hh_seasonal_naive"].to_numpy().astype(float)
    known = np.isfinite(naive)
    naive_mae = float(np.mean(np.abs(actual[known] - naive[known]))) if known.any() else math.nan
    mase = figures["mae"] / naive_mae if naive_mae and math.isfinite(naive_mae) else math.nan
    result = {name: figures[name] for name in ("mae", "rmse", "wape", "bias")} | {"mase": mase}
    for level in (80, 95):
        lower = scored[f"hh_lower_{level}"].cast(pl.Float64).to_numpy()
        upper = scored[f"hh_upper_{level}"].cast(pl.Float64).to_numpy()
        bounded = np.isfinite(lower) & np.isfinite(upper)
        if not bounded.any():
            result[f"coverage_{level}"] = result[f"width_{level}"] = math.nan
            continue
        inside = (actual[bounded] >= lower[bounded]) & (actual[bounded] <= upper[bounded])
        result[f"coverage_{level}"] = float(inside.mean())
        result[f"width_{level}"] = float(np.mean(upper[bounded] - lower[bounded]))
    return result | {"n_weeks": scored.height}


def windows(scored: pl.DataFrame, spans: list[int]) -> list[tuple[str, pl.DataFrame]]:
    """The scored weeks cut into the windows metric history keeps: the last N weeks for each
    span, and each horizon on its own (all its weeks)."""
    if scored.is_empty():
        return []
    weeks = scored["week_start"].unique().sort()
    cut = [
        (
            f"last_{span}_weeks",
            scored.filter(pl.col("week_start").is_in(weeks.tail(span).implode())),
        )
        for span in spans
    ]
    by_horizon = [
        (f"horizon_{horizon}", scored.filter(pl.col("horizon_weeks") == horizon))
        for horizon in sorted(scored["horizon_weeks"].unique().drop_nulls())
    ]
    return cut + by_horizon
