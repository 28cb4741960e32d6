"""The champion's forecast of the coming weeks: HH with 80 % and 95 % intervals, and its id.

Pure functions: the flow (flows/forecast.py) fetches the model and the planned weeks, and
writes what these return to ml.predictions.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

import numpy as np
import polars as pl

from tasks.ml import intervals as conformal
from tasks.ml.candidates import Forecaster

LEVELS = (0.8, 0.95)
WHAT_IF = "what-if"  # the plan_file of forecasts typed in the Prefect UI, never monitored


def forecast_id(model_id: str, dataset_version: str, plans: list[tuple[str, date | None]]) -> str:
    """The identity of a forecast: one champion, one dataset version, one set of plan issues."""
    key = json.dumps(
        {"model": model_id, "dataset": dataset_version, "plans": sorted(map(str, plans))},
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def predict_weeks(model: Forecaster, intervals: dict | None, weeks: pl.DataFrame) -> pl.DataFrame:
    """Each week's forecast and interval bounds, from calibrated errors.

    `intervals` are the champion's (tasks/ml/intervals.py): from its backtest, or recalibrated
    on its scored forecasts; None for a model registered without intervals. `weeks` holds
    week_start, horizon_weeks, plan_file, plan_issued_at and the model's features. A bound is
    null where there is no interval; a lower bound is never below 0 HH. The interval of horizon
    h is the one calibrated h weeks past a fit's last training week, which is what
    horizon_weeks counts here too.
    """
    predicted = np.asarray(model.predict(weeks), dtype=float)
    horizons = weeks["horizon_weeks"].fill_null(1).to_list()
    columns = {"hh_pred": predicted}
    for level in LEVELS:
        widths = [conformal.half_width(intervals, level, int(h)) for h in horizons]
        half = np.array([np.nan if w is None else w for w in widths], dtype=float)
        name = round(level * 100)
        columns[f"hh_lower_{name}"] = np.maximum(predicted - half, 0.0)
        columns[f"hh_upper_{name}"] = predicted + half
    bounds = pl.DataFrame(columns).with_columns(pl.all().fill_nan(None))
    return pl.concat(
        [weeks.select("week_start", "horizon_weeks", "plan_file", "plan_issued_at"), bounds],
        how="horizontal",
    ).with_columns(
        interval_source=pl.lit(conformal.source(intervals), dtype=pl.String),
        interval_errors=pl.lit(
            None if intervals is None else intervals["pooled"]["n"], dtype=pl.Int32
        ),
    )
