"""Pipeline: the whole weekly job in one run, from new exports to next weeks' forecast.

1. Ingest every new or changed export from landing (rejected files are reported; the good
   ones still load).
2. Transform: rebuild the weeks the new files touch, run the data tests, record the version.
3. Monitor: score the earlier forecasts whose weeks are now complete, record accuracy and
   drift, and judge whether the champion has degraded.
4. Train on the new dataset version and decide on the champion by the promotion policy,
   when the actuals hold `training.retrain_after_weeks` weeks no training saw (a new
   flight-plan issue alone is no news), or `retrain` asks, or the monitor opened an alert on
   the champion's degradation; the challenger then faces the policy as any other.
5. Forecast the planned weeks with the champion.
6. Draw the report: forecast against actual, error history, drift, champion history.
The run ends Failed when any step needs a person's attention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prefect import flow
from prefect.states import Failed, State

from flows.forecast import forecast
from flows.ingest import ingest
from flows.monitor import monitor
from flows.report import report
from flows.train import train_models
from flows.transform import transform
from hhcast.config import load_settings
from tasks.forecast import ForecastSummary
from tasks.ingest import IngestSummary
from tasks.ml.registry import ModelRecord
from tasks.monitor import MonitorSummary
from tasks.run_names import pipeline_run_name
from tasks.states import value_of
from tasks.train import TrainingSkipped, TrainingSummary, current_champion
from tasks.transform import BuildSummary


@dataclass(frozen=True)
class PipelineSummary:
    """What each step of the pipeline did, and the champion at the end."""

    ingest: IngestSummary
    transform: BuildSummary
    train: TrainingSummary | None
    champion: ModelRecord | None
    ok: bool
    train_error: str | None = None
    train_skipped: str | None = None  # why training did not run
    monitored: MonitorSummary | None = None
    forecast: ForecastSummary | None = None

    def training_line(self) -> str:
        """What the training step did, or why it did not run."""
        if self.train_error:
            return f"failed: {self.train_error}"
        return self.train.headline() if self.train else f"skipped: {self.train_skipped}"

    def headline(self) -> str:
        trained = self.training_line()
        return (
            f"ingest: {self.ingest.headline()} | transform: {self.transform.headline()} | "
            f"train: {trained}"
        )

    def champion_line(self) -> str:
        """The champion and its error on the latest holdout it was scored on."""
        if self.champion is None:
            return "no champion yet"
        mae = self.train.champion_holdout_mae if self.train else self.champion.metrics["mae"]
        return (
            f"{self.champion.model_id} ({self.champion.algorithm}), holdout MAE {mae:,.1f} HH "
            f"per week"
        )


@flow(name="pipeline", flow_run_name=pipeline_run_name, log_prints=True)
def pipeline(
    source: str | None = None,
    full_refresh: bool = False,
    promotion: Literal["auto", "manual", "never"] | None = None,
    retrain: bool = False,
) -> PipelineSummary | State:
    """Ingest new exports from landing (or `source`), rebuild the features, train if needed.

    Args:
        source: Folder or s3:// URI to ingest instead of landing. null = `landing` from
            hhcast.yaml (or HHCAST_LANDING).
        full_refresh: Rebuild every week of the marts from raw.*, not only the weeks the new
            files touch.
        promotion: How the challenger may become champion: auto (the rule decides), manual
            (the run pauses for a reviewer), never (recorded only). null = promotion.policy
            from hhcast.yaml.
        retrain: Train even when the latest dataset version needs no new training.
    """
    ingested = ingest(source=source, return_state=True)
    loaded = value_of(ingested)
    built = transform(full_refresh=full_refresh, return_state=True)
    rebuilt = value_of(built)
    ok = ingested.is_completed() and built.is_completed()
    trained = train_error = skipped = champion = monitored = None
    if not built.is_completed():
        skipped = "the transform failed; fix it first (the data tests above say what failed)"
    else:
        monitored = value_of(monitor(pipeline_retrains=True, return_state=True))
        # the run that opens an alert retrains, as the event does under a served deployment
        again = retrain or monitored.alert == "open"
        training = train_models(promotion=promotion, if_untrained=not again, return_state=True)
        outcome = training.result(raise_on_failure=False)
        if isinstance(outcome, BaseException):
            train_error, ok = str(outcome), False
        elif isinstance(outcome, TrainingSkipped):
            skipped, champion = outcome.reason, outcome.champion
        else:
            trained, champion = outcome, outcome.champion
    if champion is None:  # training failed or did not run: the registry says who is champion
        champion = current_champion(load_settings())
    forecasted = value_of(forecast(return_state=True)) if built.is_completed() else None
    if built.is_completed():
        # the charts of this run; a report that fails fails its own run, not the pipeline's
        report(return_state=True)
    summary = PipelineSummary(
        loaded, rebuilt, trained, champion, ok, train_error, skipped, monitored, forecasted
    )
    if not summary.ok:
        return Failed(message=summary.headline(), data=summary)
    return summary
