"""Prefect tasks of the training flow: load a version, train, register, compare, decide."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from hhcast.config import CandidateSettings, Settings
from hhcast.version import code_version
from tasks.ml import artifacts, registry
from tasks.ml.artifacts import StoredModel
from tasks.ml.dataset import TimeSplit, TrainingSet, load_training_set
from tasks.ml.intervals import coverage_text
from tasks.ml.level_shift import LevelShift, rebase, shifts_for_training
from tasks.ml.promotion import Comparison, compare
from tasks.ml.registry import Decision, ModelRecord
from tasks.ml.training import FoldScore, TrainedCandidate, train_candidate
from warehouse.connection import first_row, locked, writer_lock
from warehouse.lake import retry_on_io_error

LAKE_RETRIES = {
    "retries": 3,
    "retry_delay_seconds": [1, 5, 15],
    "retry_condition_fn": retry_on_io_error,
}


@dataclass(frozen=True)
class TrainingSkipped:
    """A training run that found nothing to train (see train_models' `if_untrained`)."""

    reason: str
    champion: ModelRecord | None


@dataclass
class TrainingSummary:
    """What a training run did: its data, its candidates, the comparison and the decision."""

    run_id: str
    dataset_version: str
    split: TimeSplit
    trained: list[TrainedCandidate] = field(default_factory=list)
    challenger: TrainedCandidate | None = None
    comparison: Comparison | None = None
    decision: Decision | None = None
    verdict: str = ""
    champion: ModelRecord | None = None

    def headline(self) -> str:
        first, last = self.split.holdout_window
        text = (
            f"{len(self.trained)} candidates on dataset version {self.dataset_version} "
            f"(holdout {first} to {last})"
        )
        if self.challenger:
            text += f"; challenger {self.challenger.model_id}"
        if self.decision:
            text += f"; {self.decision.action} ({self.decision.policy}): {self.verdict}"
        if self.champion:
            mae = self.champion_holdout_mae
            text += f"; champion {self.champion.model_id}, holdout MAE {mae:,.2f} HH/week"
        return text

    @property
    def champion_holdout_mae(self) -> float | None:
        """The champion's MAE on this run's holdout weeks."""
        if self.champion is None or self.comparison is None:
            return None
        if self.champion.model_id == self.comparison.challenger.model_id:
            return self.comparison.challenger_metrics["mae"]
        return self.comparison.champion_metrics["mae"]


@task(name="load-dataset-version", cache_policy=NO_CACHE, **LAKE_RETRIES)
def load_dataset(settings: Settings, version_id: str | None) -> TrainingSet:
    """The complete weeks of a recorded dataset version (default: the latest)."""
    with writer_lock(settings.warehouse, timeout=_wait(settings)):
        return load_training_set(settings, version_id)


@task(name="find-level-shifts", cache_policy=NO_CACHE)
def rebase_level_shifts(settings: Settings, dataset: TrainingSet) -> TrainingSet:
    """The weeks with their history rebased by the champion's known level shifts, still old
    enough to keep, and by a step found in the newest weeks (tasks/ml/level_shift.py)."""
    with locked(settings.warehouse) as con:
        champion = registry.champion(con)
    known = [LevelShift.from_json(s) for s in (champion.level_shifts or [])] if champion else []
    training = settings.training
    shifts = shifts_for_training(
        dataset.weeks, known, training.features, training.target, training.level_shifts
    )
    for shift in shifts:
        get_run_logger().info(shift.describe())
    if not shifts:
        return dataset
    return replace(
        dataset, weeks=rebase(dataset.weeks, shifts, training.target), level_shifts=tuple(shifts)
    )


@task(name="train-candidate", task_run_name="train-{name}", cache_policy=NO_CACHE)
def train(name: str, candidate: CandidateSettings, split: TimeSplit, settings: Settings):
    """Backtest one candidate, fit it on all weeks before the holdout and score the holdout,
    then fit it on every week for production."""
    trained = train_candidate(name, candidate, split, settings.training)
    get_run_logger().info(
        "%s: backtest MAE %.2f ± %.2f, holdout MAE %.2f, interval coverage on the holdout %s "
        "(%.1f s)",
        trained.model_id, trained.backtest["mae_mean"], trained.backtest["mae_std"],
        trained.holdout.metrics["mae"], coverage_text(trained.holdout.metrics), trained.seconds,
    )  # fmt: skip
    return trained


@task(name="store-artifacts", cache_policy=NO_CACHE, **LAKE_RETRIES)
def store_artifacts(trained: list[TrainedCandidate], settings: Settings) -> dict[str, StoredModel]:
    """Each model's two artifacts in the lake, the scored fit and the production fit, by id."""
    return {
        c.model_id: StoredModel(
            scored=artifacts.store(c.forecaster, settings),
            production=artifacts.store(c.production.forecaster, settings),
        )
        for c in trained
    }


@task(name="register-models", cache_policy=NO_CACHE)
def register(
    trained: list[TrainedCandidate],
    stored: dict[str, StoredModel],
    challenger: TrainedCandidate,
    dataset: TrainingSet,
    bootstrap: Decision,
    run_id: str,
    settings: Settings,
) -> ModelRecord:
    """Record the run's models and scores in one transaction; return the champion.

    Before the first champion exists, `bootstrap` installs one in the same transaction.
    """
    with locked(settings.warehouse) as con:
        registry.register_run(
            con, trained, stored,
            run_id=run_id, dataset_version=dataset.version_id, challenger_id=challenger.model_id,
            seed=settings.training.seed, code_version=code_version(), bootstrap=bootstrap,
            level_shifts=[shift.as_json() for shift in dataset.level_shifts],
        )  # fmt: skip
        return registry.champion(con)


@task(name="rescore-champion", cache_policy=NO_CACHE, **LAKE_RETRIES)
def rescore_champion(
    challenger: TrainedCandidate,
    champion: ModelRecord,
    trained: list[TrainedCandidate],
    split: TimeSplit,
    run_id: str,
    settings: Settings,
) -> Comparison:
    """Load the champion from the lake and score it on this run's holdout weeks."""
    model = artifacts.fetch(
        champion.artifact_uri, champion.artifact_sha256, champion.algorithm, champion.features,
        settings,
    )  # fmt: skip
    comparison = compare(challenger, champion, model, settings.training.target, split.holdout.test)
    if champion.model_id not in {c.model_id for c in trained}:  # else scored already
        _record_rescore(comparison, split, run_id, settings)
    return comparison


def _record_rescore(
    comparison: Comparison, split: TimeSplit, run_id: str, settings: Settings
) -> None:
    first, last = split.holdout_window
    champion = comparison.champion
    scored = FoldScore(
        split="holdout", fold=None, train_start=champion.train_start,
        train_end=champion.train_end, test_start=first, test_end=last, n_train=None,
        n_test=comparison.weeks.height, metrics=comparison.champion_metrics,
    )  # fmt: skip
    predictions = comparison.weeks.select("week_start", y_true="actual", y_pred="champion")
    with locked(settings.warehouse) as con:
        con.begin()
        registry.record_scores(con, run_id, champion.model_id, [scored], predictions)
        con.commit()


@task(name="publish-comparison", cache_policy=NO_CACHE)
def publish(
    markdown: str, trained: list[TrainedCandidate], challenger: TrainedCandidate, says: str
) -> None:
    """The side-by-side report and the candidates' table, as Prefect artifacts; `says` is the
    policy and what auto would do, the cards' verdict."""
    create_markdown_artifact(
        key="champion-vs-challenger",
        markdown=markdown,
        description=f"**Champion vs challenger {challenger.model_id}**: {says}",
    )
    create_table_artifact(
        key="training-candidates",
        description=f"**Candidates**: {len(trained)} trained; challenger {challenger.model_id} "
        f"({challenger.algorithm}), backtest MAE {challenger.backtest['mae_mean']:,.1f} HH",
        table=[
            {
                "model_id": c.model_id,
                "algorithm": c.algorithm,
                "backtest_mae_mean": round(c.backtest["mae_mean"], 2),
                "backtest_mae_std": round(c.backtest["mae_std"], 2),
                "holdout_mae": round(c.holdout.metrics["mae"], 2),
                "holdout_wape": round(c.holdout.metrics["wape"], 4),
                **{
                    f"holdout_{key}": round(value, 3)
                    for key, value in c.holdout.metrics.items()
                    if key.startswith("coverage_")
                },
                "seconds": round(c.seconds, 1),
            }
            for c in trained
        ],
    )


@task(name="record-decision", cache_policy=NO_CACHE)
def record_decision(decision: Decision, run_id: str, settings: Settings) -> ModelRecord:
    """Apply the decision to the registry atomically; return the champion after it.

    When another run changed the champion meanwhile (a review can take a day), the decision
    cannot apply: it is recorded as `keep` against the champion now, with what was decided,
    and the run fails with that message.
    """
    with locked(settings.warehouse) as con:
        try:
            registry.decide(con, decision, run_id)
        except registry.ChampionChanged as changed:
            now = registry.champion(con)
            registry.decide(
                con,
                replace(
                    decision, action="keep", from_model=now.model_id,
                    champion_after=now.model_id,
                    note=f"not applied: {decision.action} of {decision.to_model} was decided "
                    f"against {decision.from_model} ({decision.note}), but {changed}",
                ),
                run_id,
            )  # fmt: skip
            raise
        return registry.champion(con)


def _wait(settings: Settings) -> float:
    """How long a writer waits for the warehouse: for another flow, or an analyst's session."""
    return settings.warehouse.writer_lock_timeout_seconds


@task(name="check-training-needed", cache_policy=NO_CACHE)
def untrained_version(settings: Settings, policy: str) -> tuple[str | None, str]:
    """The latest dataset version if its weeks are news to training, else None; and why.

    A training run counts once it recorded a decision (bootstrap, promote or keep); one that
    registered models but failed before deciding does not, so the next pipeline run trains
    again. Under the manual policy, one registered within `promotion.manual_timeout_seconds`
    may still be waiting for its review, and counts. A version counts as trained when a
    counted run trained on the same complete weeks (a new flight-plan issue makes a
    new version, not new weeks to learn from; so does a delivery of days that completes no
    week). After that the pipeline trains again once the actuals hold
    `training.retrain_after_weeks` more complete weeks than the last training saw; sooner only
    when monitoring finds the champion degraded (the caller's decision).
    """
    pending = settings.promotion.manual_timeout_seconds if policy == "manual" else 0
    with locked(settings.warehouse) as con:
        row = first_row(
            con,
            """
            with latest as (
                select * from meta.dataset_versions
                where built_at = (select max(built_at) from meta.dataset_versions)
            ),
            trained as (
                select v.* from meta.dataset_versions v
                where exists (
                    select 1 from ml.models m
                    where m.dataset_version = v.version_id
                      and (exists (select 1 from ml.promotions p where p.run_id = m.run_id)
                           or m.created_at > now() - to_seconds(?))
                )
            )
            select
                l.version_id,
                exists (
                    select 1 from trained t
                    where t.version_id = l.version_id or t.training_hash = l.training_hash
                ),
                datediff('week', (select max(last_complete_week) from trained),
                         l.last_complete_week)
            from latest l
            """,
            [pending],
        )
    if row is None:
        return None, "no dataset version yet: run the transform first"
    version, same_weeks, new_weeks = row
    if same_weeks:
        return None, "models were trained on these weeks already"
    every = settings.training.retrain_after_weeks
    # Changed weeks without a new one (a correction) are news too, as much as one new week.
    if new_weeks is not None and max(new_weeks, 1) < every:
        return None, (
            f"{new_weeks} new week(s) since the last training; it retrains after {every} "
            f"(training.retrain_after_weeks) or when monitoring opens a degradation alert"
        )
    return version, "new weeks to learn from"


def current_champion(settings: Settings) -> ModelRecord | None:
    """The champion now, read from the registry."""
    with locked(settings.warehouse) as con:
        return registry.champion(con)
