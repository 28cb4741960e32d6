"""Train: fit candidates on a dataset version, and let the policy or a person pick the champion.

1. Read a recorded dataset version of marts.features_weekly (default: the latest), complete
   weeks only; where the HH per unit of flying stepped to a new level in the newest weeks,
   rebase the weeks before the step to it; and cut the weeks on time: the newest are the
   holdout, rolling-origin folds before them measure each candidate's error and its spread.
2. Train every candidate of hhcast.yaml; the best mean backtest error becomes the challenger.
3. Register all of them (artifacts in the lake, rows in ml.models, scores in ml.*).
4. Re-score the champion on the same holdout weeks and publish the side-by-side report.
5. Decide by the promotion policy: `auto` compares with a margin and a guard metric,
   `manual` pauses for a reviewer's approve / reject in the Prefect UI (no answer before the
   timeout keeps the champion), `never` only records. Every decision lands in ml.promotions.
6. Publish the read replica analysts query (a copy of the warehouse as committed); under
   `manual` also before the review, so the reviewer can query the candidates' scores.
"""

from __future__ import annotations

import uuid
from typing import Literal

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from hhcast.config import Settings, load_settings
from tasks.ml.dataset import time_split
from tasks.ml.promotion import (
    Comparison,
    auto_says,
    auto_verdict,
    bootstrap_decision,
    decision,
    report,
)
from tasks.ml.registry import Decision
from tasks.ml.training import pick_challenger
from tasks.progress import RunProgress
from tasks.replica import publish_replica
from tasks.review import review
from tasks.run_names import train_run_name
from tasks.states import keep
from tasks.train import (
    TrainingSkipped,
    TrainingSummary,
    current_champion,
    load_dataset,
    publish,
    rebase_level_shifts,
    record_decision,
    register,
    rescore_champion,
    store_artifacts,
    train,
    untrained_version,
)


@flow(name="train", flow_run_name=train_run_name, log_prints=True)
def train_models(
    dataset_version: str | None = None,
    promotion: Literal["auto", "manual", "never"] | None = None,
    if_untrained: bool = False,
) -> TrainingSummary | TrainingSkipped:
    """Train the configured candidates on a dataset version and decide on the champion.

    Args:
        dataset_version: The version_id of meta.dataset_versions to train on. null = the
            latest recorded version.
        promotion: How the challenger may become champion: auto (the rule decides), manual
            (the run pauses for a reviewer), never (recorded only). null = promotion.policy
            from hhcast.yaml.
        if_untrained: The pipeline's way: train nothing unless the latest dataset version
            holds weeks no finished training run saw (`training.retrain_after_weeks` of them
            once there is a champion).
    """
    settings = load_settings()
    policy = promotion or settings.promotion.policy
    if if_untrained and dataset_version is None:
        dataset_version, reason = untrained_version(settings, policy)
        if dataset_version is None:
            return keep(TrainingSkipped(reason, current_champion(settings)))
    run_id = str(flow_run.get_id() or uuid.uuid4())
    dataset = rebase_level_shifts(settings, load_dataset(settings, dataset_version))
    split = time_split(dataset.weeks, settings.training)
    # One after another: on a small machine, a tree ensemble's threads and TensorFlow's fight
    # for the cores and both run several times slower side by side.
    candidates = settings.training.candidates
    progress = RunProgress("training-progress", len(candidates), "Candidates trained")
    trained = []
    for name, candidate in candidates.items():
        trained.append(train(name, candidate, split, settings))
        progress.advance(label=name)
    challenger = pick_challenger(trained, settings.training.primary_metric)
    stored = store_artifacts(trained, settings)
    champion = register(
        trained, stored, challenger, dataset, bootstrap_decision(trained), run_id, settings
    )
    if champion.model_id in {c.model_id for c in trained}:
        get_run_logger().info("no champion yet: %s (naive baseline) installed", champion.model_id)
    comparison = rescore_champion(challenger, champion, trained, split, run_id, settings)
    promote, verdict = auto_verdict(
        comparison, settings.promotion, settings.training.primary_metric
    )
    says = f"{policy}; {auto_says(promote, verdict)}"
    publish(report(comparison, trained, says), trained, challenger, says)
    summary = TrainingSummary(run_id, dataset.version_id, split, trained, challenger, comparison)
    if challenger.model_id == champion.model_id:
        summary.verdict, summary.champion = "the challenger is the champion already", champion
    else:
        decision = _decide(comparison, policy, promote, verdict, settings)
        summary.decision, summary.verdict = decision, decision.note
        summary.champion = record_decision(decision, run_id, settings)
    publish_replica(settings, "train")
    get_run_logger().info(summary.headline())
    return keep(summary)


def _decide(
    comparison: Comparison, policy: str, promote: bool, verdict: str, settings: Settings
) -> Decision:
    """Apply the policy: auto's verdict, a record only, or a reviewer's answer."""
    if policy == "never":
        return decision(
            comparison, False, policy, "policy", f"recorded only; {auto_says(promote, verdict)}"
        )
    if policy == "manual":
        publish_replica(settings, "train")  # the review may wait a day
        promote, decided_by, note = review(comparison, auto_says(promote, verdict), settings)
        return decision(comparison, promote, policy, decided_by, note)
    return decision(comparison, promote, policy, "policy", verdict)
