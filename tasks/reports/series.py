"""What each chart draws, shaped from the report's tables: plain polars, no plotting.

Forecasts for past weeks are the ones made a chosen number of weeks ahead (the latest such,
where the same week was forecast again); the coming weeks show the latest forecast of each.
What-if forecasts typed in the Prefect UI are never drawn.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from tasks.ml.scoring import WHAT_IF

BOUNDS = ("hh_lower_80", "hh_upper_80", "hh_lower_95", "hh_upper_95")
STATISTICS = ("psi", "wasserstein", "ks")
PROMOTING_ACTIONS = ("bootstrap", "promote", "rollback")  # decisions that change the champion


def forecast_weeks(
    actuals: pl.DataFrame, predictions: pl.DataFrame, horizon: int | None
) -> pl.DataFrame:
    """One forecast per week: `past` weeks (those with actuals) at `horizon` weeks ahead (None:
    the latest made), `coming` weeks from their latest forecast; with the actual where known.

    Columns: week_start, period (past | coming), horizon_weeks, hh_pred, the four bounds,
    made_at, model_id, plan_file, hh_actual.
    """
    if predictions.is_empty():
        return _empty_forecast_weeks()
    made = predictions.filter(pl.col("plan_file") != WHAT_IF)
    last_actual = actuals["week_start"].max() if actuals.height else None
    is_past = pl.col("week_start") <= last_actual if last_actual is not None else pl.lit(False)
    past = made.filter(is_past)
    if horizon is not None:
        past = past.filter(pl.col("horizon_weeks") == horizon)
    coming = made.filter(~is_past)
    chosen = pl.concat(
        [
            past.with_columns(period=pl.lit("past")),
            coming.with_columns(period=pl.lit("coming")),
        ]
    )
    latest = (
        chosen.sort("made_at")
        .unique("week_start", keep="last")
        .join(actuals.rename({"hh": "hh_actual"}), on="week_start", how="left")
        .sort("week_start")
    )
    return latest.select(_FORECAST_COLUMNS)


_FORECAST_COLUMNS = (
    "week_start",
    "period",
    "horizon_weeks",
    "hh_pred",
    *BOUNDS,
    "made_at",
    "model_id",
    "plan_file",
    "hh_actual",
)


def _empty_forecast_weeks() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "week_start": pl.Date,
            "period": pl.String,
            "horizon_weeks": pl.Int32,
            "hh_pred": pl.Float64,
            **dict.fromkeys(BOUNDS, pl.Float64),
            "made_at": pl.Datetime("us", "UTC"),
            "model_id": pl.String,
            "plan_file": pl.String,
            "hh_actual": pl.Float64,
        }
    )


def window_metrics(metrics: pl.DataFrame, windows: list[int]) -> pl.DataFrame:
    """The metric history of the rolling windows (last_N_weeks), one row per run, model,
    source and window; per-horizon rows are left out."""
    names = [f"last_{n}_weeks" for n in windows]
    if metrics.is_empty():
        return metrics
    return metrics.filter(pl.col("window_name").is_in(names)).sort("run_at", "window_name")


def drift_ratios(drift: pl.DataFrame) -> pl.DataFrame:
    """Each drift statistic over its alert threshold (1 = at the threshold), one row per run,
    feature, window and statistic, with the row's status."""
    if drift.is_empty():
        return pl.DataFrame(
            schema={
                "run_at": pl.Datetime("us", "UTC"),
                "feature": pl.String,
                "window_name": pl.String,
                "statistic": pl.String,
                "value": pl.Float64,
                "alert": pl.Float64,
                "ratio": pl.Float64,
                "status": pl.String,
            }
        )
    per_statistic = [
        drift.select(
            "run_at",
            "feature",
            "window_name",
            "status",
            statistic=pl.lit(name),
            value=pl.col(name),
            alert=pl.col(f"{name}_alert"),
        )
        for name in STATISTICS
    ]
    return (
        pl.concat(per_statistic)
        .with_columns(ratio=pl.when(pl.col("alert") > 0).then(pl.col("value") / pl.col("alert")))
        .filter(pl.col("ratio").is_not_null())
        .sort("feature", "window_name", "statistic", "run_at")
    )


def champion_spans(decisions: pl.DataFrame, until: datetime) -> pl.DataFrame:
    """Each champion's time in place: from the decision that made it champion to the next that
    changed the champion (or `until`). Decisions that kept the champion start no span."""
    if decisions.is_empty():
        return pl.DataFrame(
            schema={
                "champion": pl.String,
                "candidate": pl.String,
                "algorithm": pl.String,
                "start": pl.Datetime("us", "UTC"),
                "end": pl.Datetime("us", "UTC"),
            }
        )
    ordered = decisions.sort("decided_at")
    changed = ordered.filter(
        pl.col("champion_after") != pl.col("champion_after").shift(1).fill_null("")
    )
    return changed.select(
        champion=pl.col("champion_after"),
        candidate=pl.col("candidate"),
        algorithm=pl.col("algorithm"),
        start=pl.col("decided_at"),
        end=pl.col("decided_at")
        .shift(-1)
        .fill_null(pl.lit(until).cast(changed["decided_at"].dtype)),
    )


def decision_events(decisions: pl.DataFrame) -> pl.DataFrame:
    """The decisions to mark on the timeline, each with a label: what, to whom, by whom."""
    if decisions.is_empty():
        return decisions
    return decisions.sort("decided_at").with_columns(
        label=pl.concat_str(
            pl.col("action"),
            pl.lit(" "),
            pl.col("to_model").fill_null(pl.col("champion_after")),
            pl.lit(" by "),
            pl.col("decided_by"),
            pl.lit(" ("),
            pl.col("policy"),
            pl.lit(")"),
        ),
        changes_champion=pl.col("action").is_in(PROMOTING_ACTIONS),
    )


def as_of(actuals: pl.DataFrame) -> datetime | None:
    """Where the actuals end: the Monday after the last complete week (the report's 'today')."""
    if actuals.is_empty():
        return None
    last = actuals["week_start"].max()
    return datetime.combine(last + timedelta(weeks=1), datetime.min.time())
