"""The forecast flow's Prefect tasks: the champion, the planned weeks, the forecast, its record.

The arithmetic is tasks/ml/scoring.py; here it gets the warehouse, the lake and the Prefect UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from hhcast.config import IntervalSettings, Settings
from tasks.ml import artifacts, registry
from tasks.ml.candidates import Forecaster
from tasks.ml.intervals import recalibrate
from tasks.ml.registry import ModelRecord
from tasks.ml.scoring import LEVELS, WHAT_IF, forecast_id, predict_weeks
from tasks.train import LAKE_RETRIES
from warehouse.connection import append, first_row, locked

PREDICTION_COLUMNS = (
    "week_start", "horizon_weeks", "plan_file", "plan_issued_at", "hh_pred", "hh_lower_80",
    "hh_upper_80", "hh_lower_95", "hh_upper_95", "interval_source", "interval_errors",
)  # fmt: skip


@dataclass(frozen=True)
class ForecastSummary:
    """What a forecast run did: the champion, its weeks, and whether they were new."""

    forecast_id: str | None
    model_id: str | None
    dataset_version: str | None
    weeks: pl.DataFrame
    added: int  # rows written to ml.predictions (0: the same forecast was made before)
    reason: str = ""  # why there is no forecast, when there is none

    def headline(self) -> str:
        if self.forecast_id is None:
            return f"no forecast: {self.reason}"
        first, last = self.weeks["week_start"].min(), self.weeks["week_start"].max()
        made = "new" if self.added else "unchanged (made before)"
        return (
            f"{self.weeks.height} weeks {first} to {last} by {self.model_id}, forecast "
            f"{self.forecast_id} {made}{self.intervals_note()}"
        )

    def intervals_note(self) -> str:
        """Whose errors the intervals stand on, as the headline says it."""
        sources = self.weeks["interval_source"].unique().to_list()
        if sources == ["monitored"]:
            n = self.weeks["interval_errors"].max()
            return f"; intervals from its {n} scored forecasts"
        if sources == ["backtest"]:
            return "; intervals from its backtest"
        return ""

    def table(self) -> list[dict]:
        """The weeks as the terminal and the Prefect UI show them."""
        return [
            {
                "week": str(row["week_start"]),
                "horizon": row["horizon_weeks"],
                "HH": round(row["hh_pred"], 1),
                "80 %": _interval(row["hh_lower_80"], row["hh_upper_80"]),
                "95 %": _interval(row["hh_lower_95"], row["hh_upper_95"]),
                "plan": str(row["plan_file"]).rsplit("/", 1)[-1],
            }
            for row in self.weeks.iter_rows(named=True)
        ]


def _interval(lower: float | None, upper: float | None) -> str:
    return "n/a" if lower is None or upper is None else f"{lower:,.0f} - {upper:,.0f}"


@task(name="load-champion", cache_policy=NO_CACHE, **LAKE_RETRIES)
def load_champion(settings: Settings) -> tuple[ModelRecord, Forecaster] | None:
    """The champion and its forecasting artifact (the fit on every complete week)."""
    with locked(settings.warehouse) as con:
        champion = registry.champion(con)
    if champion is None:
        return None
    uri, digest = champion.forecast_artifact()
    model = artifacts.fetch(uri, digest, champion.algorithm, champion.features, settings)
    return champion, model


@task(name="planned-weeks", cache_policy=NO_CACHE)
def planned_weeks(settings: Settings) -> tuple[pl.DataFrame, str | None]:
    """The complete planned weeks of marts.features_weekly_plan, and the latest dataset version."""
    with locked(settings.warehouse) as con:
        version = first_row(
            con,
            "select version_id from meta.dataset_versions "
            "where built_at = (select max(built_at) from meta.dataset_versions)",
        )
        weeks = complete_planned_weeks(con)
    return weeks, version[0] if version else None


def complete_planned_weeks(con) -> pl.DataFrame:
    """The complete weeks of marts.features_weekly_plan in order (none before its first build)."""
    exists = first_row(
        con,
        "select count(*) from information_schema.tables "
        "where table_schema = 'marts' and table_name = 'features_weekly_plan'",
    )
    if not exists or not exists[0]:
        return pl.DataFrame()
    return con.sql(
        "select * from marts.features_weekly_plan where is_complete order by week_start"
    ).pl()


@task(name="forecast-weeks", cache_policy=NO_CACHE)
def forecast_weeks(
    champion: ModelRecord, model: Forecaster, weeks: pl.DataFrame, dataset_version: str,
    run_id: str, settings: Settings,
) -> ForecastSummary:  # fmt: skip
    """Predict the weeks and record them, unless the same forecast was recorded before.

    The intervals are the champion's own scored errors' once it has enough of them
    (training.intervals.monitored_weeks, min_monitored_weeks), its backtest's until then.
    """
    with locked(settings.warehouse) as con:  # one connection: the errors read, the rows written
        intervals = forecast_intervals(con, champion, settings.training.intervals)
        predicted = predict_weeks(model, intervals, weeks)
        plans = sorted(set(predicted.select("plan_file", "plan_issued_at").iter_rows()))
        identity = forecast_id(champion.model_id, dataset_version, plans)
        if plans == [(WHAT_IF, None)]:  # a what-if is recorded each time it is asked
            identity = forecast_id(champion.model_id, dataset_version, [(WHAT_IF, run_id)])
        rows = predicted.select(PREDICTION_COLUMNS).with_columns(
            forecast_id=pl.lit(identity),
            run_id=pl.lit(run_id),
            model_id=pl.lit(champion.model_id),
            dataset_version=pl.lit(dataset_version),
            made_at=pl.lit(datetime.now(UTC)),
        )
        con.begin()
        known = first_row(
            con, "select count(*) from ml.predictions where forecast_id = ?", [identity]
        )[0]
        if not known:
            append(con, "ml.predictions", rows)
        con.commit()
    return ForecastSummary(
        identity, champion.model_id, dataset_version, predicted, 0 if known else rows.height
    )


def forecast_intervals(con, champion: ModelRecord, config: IntervalSettings) -> dict | None:
    """The intervals the champion forecasts with now: recalibrated on its scored forecast
    errors of the latest `monitored_weeks` weeks once they span `min_monitored_weeks` weeks,
    else its backtest's."""
    if config.monitored_weeks == 0:
        return champion.intervals
    scored = con.sql(
        """
        select error, week_start from ml.forecast_errors
        where model_id = $model
          and week_start > (select max(week_start) from ml.forecast_errors where model_id = $model)
                           - to_weeks($weeks)
        """,
        params={"model": champion.model_id, "weeks": config.monitored_weeks},
    ).fetchnumpy()
    monitored = recalibrate(
        scored["error"], scored["week_start"], LEVELS, config.min_monitored_weeks,
        config.monitored_weeks,
    )  # fmt: skip
    return monitored or champion.intervals


@task(name="publish-forecast", cache_policy=NO_CACHE)
def publish_forecast(summary: ForecastSummary) -> None:
    """The forecast as a table in the Prefect UI."""
    create_table_artifact(
        key="forecast",
        table=summary.table() or [{"week": "(no planned weeks)"}],
        description=f"**Forecast of unscheduled HH**: {summary.headline()}",
    )
