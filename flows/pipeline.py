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
7. Summarise: each step's verdict in the log and in the `pipeline-summary` artifact, which
   links each step's run (its artifacts) and the report.
The run ends Failed when any step needs a person's attention.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from prefect import flow, get_run_logger
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
from tasks.pipeline import Step, broken_steps, log_lines, publish_pipeline_summary
from tasks.report import ReportSummary
from tasks.run_names import pipeline_run_name
from tasks.states import keep, outcome_of, run_id_of, value_of
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
    report: ReportSummary | None = None
    report_error: str | None = None
    runs: dict[str, str | None] = field(default_factory=dict)  # each step's run id, by step

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

    def brief(self) -> str:
        """The run in a line: files, dataset version, champion, forecast."""
        files, version = len(self.ingest.outcomes), self.transform.version
        forecasted = self.forecast and self.forecast.forecast_id
        return ", ".join([
            f"{files} file{'' if files == 1 else 's'}",
            f"dataset version {version.version_id}" if version else "no new dataset version",
            f"champion {self.champion.model_id}" if self.champion else "no champion yet",
            f"forecast of {self.forecast.weeks.height} weeks" if forecasted else "no forecast",
        ])  # fmt: skip

    def steps(self) -> list[Step]:
        """Each step's status, verdict and run, as the pipeline run's page shows them."""
        run = self.runs.get
        monitor, forecast, report = (Step(n, "not run", "the transform failed") for n in
                                     ("monitor", "forecast", "report"))  # fmt: skip
        if self.monitored:
            monitor = Step("monitor", "ok", self.monitored.headline(), run("monitor"))
        if self.train_error:
            train = Step("train", "failed", self.train_error, run("train"))
        elif self.train:
            train = Step("train", "ok", self.train.headline(), run("train"))
        else:
            train = Step("train", "skipped", self.train_skipped or "", run("train"))
        champion = Step("champion", "ok" if self.champion else "none", self.champion_line(),
                        run("train") if self.train else None)  # fmt: skip
        if self.forecast:
            made = "ok" if self.forecast.forecast_id else "skipped"
            forecast = Step("forecast", made, self.forecast.headline(), run("forecast"))
        if self.report_error:
            report = Step("report", "failed", self.report_error, run("report"))
        elif self.report:
            page = self.report.page_url
            report = Step("report", "ok", self.report.headline(), run("report"), page)
        ingested = "failed" if self.ingest.rejected else "ok"
        built = "ok" if self.transform.ok else "failed"
        return [
            Step("ingest", ingested, self.ingest.headline(), run("ingest")),
            Step("transform", built, self.transform.headline(), run("transform")),
            monitor, train, champion, forecast, report,
        ]  # fmt: skip


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
    states: dict[str, State] = {}  # each step's end, kept as it comes
    try:
        summary = _run_steps(source, full_refresh, promotion, retrain, states)
    except Exception as error:
        # a step broke instead of reporting a failure: the run's page still says which and why
        broken = broken_steps(states, error)
        get_run_logger().error(log_lines(broken, ""))
        publish_pipeline_summary(broken, "")
        raise
    steps, brief = summary.steps(), summary.brief()
    get_run_logger().info(log_lines(steps, brief))
    publish_pipeline_summary(steps, brief)
    if not summary.ok:
        return keep(Failed(message=summary.headline(), data=summary))
    return keep(summary)


def _run_steps(
    source: str | None, full_refresh: bool, promotion: str | None, retrain: bool,
    states: dict[str, State],
) -> PipelineSummary:  # fmt: skip
    """The pipeline's steps in order; each step's final state lands in `states` before its
    value is read, so a step that raised is known by its state."""
    ingested = states["ingest"] = ingest(source=source, return_state=True)
    loaded = value_of(ingested)
    built = states["transform"] = transform(full_refresh=full_refresh, return_state=True)
    rebuilt = value_of(built)
    ok = ingested.is_completed() and built.is_completed()
    trained = train_error = skipped = champion = monitored = None
    if not built.is_completed():
        skipped = "the transform failed; fix it first (the data tests above say what failed)"
    else:
        watched = states["monitor"] = monitor(pipeline_retrains=True, return_state=True)
        monitored = value_of(watched)
        # the run that opens an alert retrains, as the event does under a served deployment
        again = retrain or monitored.alert == "open"
        training = train_models(promotion=promotion, if_untrained=not again, return_state=True)
        states["train"] = training
        outcome = outcome_of(training)
        if isinstance(outcome, BaseException):
            train_error, ok = str(outcome), False
        elif isinstance(outcome, TrainingSkipped):
            skipped, champion = outcome.reason, outcome.champion
        else:
            trained, champion = outcome, outcome.champion
    if champion is None:  # training failed or did not run: the registry says who is champion
        champion = current_champion(load_settings())
    forecasted = drawn = report_error = None
    if built.is_completed():
        predicted = states["forecast"] = forecast(return_state=True)
        forecasted = value_of(predicted)
        # the charts of this run; a report that fails fails its own run, not the pipeline's
        reported = states["report"] = report(return_state=True)
        drawn = outcome_of(reported)
        if isinstance(drawn, BaseException):
            drawn, report_error = None, str(drawn)
    return PipelineSummary(
        loaded, rebuilt, trained, champion, ok, train_error, skipped, monitored, forecasted,
        drawn, report_error, {name: run_id_of(state) for name, state in states.items()},
    )  # fmt: skip
