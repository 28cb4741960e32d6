"""Forecast: how many HH of unscheduled work to staff for each of the coming weeks.

1. Load the champion and the artifact that forecasts: its fit on every complete week.
2. Read the planned weeks: marts.features_weekly_plan, the weekly features of the latest
   flight-plan issues after the last complete actual week (or, for a what-if, weeks typed in
   the form, or those a flight plan of your own gives, computed by the plan mart's SQL).
3. Predict each week's HH with 80 % and 95 % intervals, calibrated at training time on the
   model's own out-of-sample errors.
4. Record them in ml.predictions, unless this champion already forecast these plan issues on
   this dataset version; old forecasts stay, for monitoring to score once the actuals arrive.
5. Publish the forecast table in the Prefect UI, and the read replica analysts query.
"""

from __future__ import annotations

import uuid

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from hhcast.config import load_settings
from tasks.forecast import (
    ForecastSummary,
    forecast_weeks,
    load_champion,
    planned_weeks,
    publish_forecast,
)
from tasks.replica import publish_replica
from tasks.run_names import forecast_run_name
from tasks.states import keep
from tasks.what_if import WhatIfWeek, what_if_plan_weeks, what_if_weeks


@flow(name="forecast", flow_run_name=forecast_run_name, log_prints=True)
def forecast(
    what_if: list[WhatIfWeek] | None = None, what_if_plan: str | None = None
) -> ForecastSummary:
    """Forecast the planned weeks with the champion, or the weeks of a what-if.

    What-ifs are recorded with plan_file 'what-if' and never monitored.

    Args:
        what_if: Weeks of your own utilisation to price, one row per week. null = forecast
            the planned weeks of the latest flight-plan issues instead.
        what_if_plan: Path or s3:// URI of a flight plan of your own, in the flight-plan
            export's format, whose weeks to price. null = no plan file (what_if, or the
            planned weeks).
    """
    settings = load_settings()
    run_id = str(flow_run.get_id() or uuid.uuid4())
    loaded = load_champion(settings)
    weeks, dataset_version = planned_weeks(settings)
    if what_if:
        weeks = what_if_weeks(what_if)
    elif what_if_plan:
        weeks = what_if_plan_weeks(what_if_plan, settings)
    if loaded is None:
        summary = ForecastSummary(None, None, dataset_version, weeks, 0, "no champion yet: train")
    elif weeks.is_empty():
        summary = ForecastSummary(
            None, loaded[0].model_id, dataset_version, weeks, 0,
            "no complete planned week after the last complete actual week: land a flight plan",
        )  # fmt: skip
    else:
        champion, model = loaded
        summary = forecast_weeks(champion, model, weeks, dataset_version, run_id, settings)
    publish_forecast(summary)
    publish_replica(settings, "forecast")
    get_run_logger().info(summary.headline())
    return keep(summary)
