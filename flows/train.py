"""Train: fit candidates on a dataset version, and let the policy or a person pick the champion.

1. Read a recorded dataset version of marts.features_weekly (default: the latest), complete
   weeks only, and cut it on time: the newest weeks are the holdout, rolling-origin folds
   before them measure each candidate's error and its spread.
2. Train every candidate of hhcast.yaml; the best mean backtest error becomes the challenger.
3. Register all of them (artifacts in the lake, rows in ml.models, scores in ml.*).
4. Re-score the champion on the same holdout weeks and publish the side-by-side report.
5. Decide by the promotion policy: `auto` compares with a margin and a guard metric,
   `manual` pauses for a reviewer's approve / reject in the Prefect UI (no answer before the
   timeout keeps the champion), `never` only records. Every decision lands in ml.promotions.
"""

from __future__ import annotations

import uuid
from typing import Literal

from prefect import flow, get_run_logger, pause_flow_run
from prefect.client.orchestration import get_client
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Running
from pydantic import Field

from hhcast.config import Settings, load_settings
from tasks.promotion import Comparison, auto_verdict, report
from tasks.registry import Decision
from tasks.train import (
    TrainingSummary,
    load_dataset,
    publish,
    record_decision,
    register,
    rescore_champion,
    train,
)
from tasks.training import pick_challenger
from tasks.training_data import time_split


class PromotionReview(RunInput):
    """The form a reviewer fills in the Prefect UI to resume a paused training run."""

    approve: bool = Field(False, description="Promote the challenger to champion")
    reviewer: str = Field("", description="Your name, kept in ml.promotions")
    note: str = Field("", description="Why; kept in ml.promotions")


@flow(name="train", log_prints=True)
def train_models(
    dataset_version: str | None = None,
    promotion: Literal["auto", "manual", "never"] | None = None,
) -> TrainingSummary:
    """Train the configured candidates on a dataset version and decide on the champion."""
    settings = load_settings()
    policy = promotion or settings.promotion.policy
    run_id = str(flow_run.get_id() or uuid.uuid4())
    dataset = load_dataset(settings, dataset_version)
    split = time_split(dataset.weeks, settings.training)
    # One after another: on a small machine, a tree ensemble's threads and TensorFlow's fight
    # for the cores and both run several times slower side by side.
    trained = [
        train(name, candidate, split, settings)
        for name, candidate in settings.training.candidates.items()
    ]
    challenger = pick_challenger(trained, settings.training.primary_metric)
    champion = register(trained, challenger, dataset, run_id, settings)
    if champion.model_id in {c.model_id for c in trained}:
        get_run_logger().info("no champion yet: %s (naive baseline) installed", champion.model_id)
    comparison = rescore_champion(challenger, champion, trained, split, run_id, settings)
    promote, verdict = auto_verdict(
        comparison, settings.promotion, settings.training.primary_metric
    )
    auto_says = f"auto would {'promote' if promote else 'keep'}: {verdict}"
    publish(report(comparison, trained, f"{policy}; {auto_says}"), trained)
    summary = TrainingSummary(run_id, dataset.version_id, split, trained, challenger, comparison)
    if challenger.model_id == champion.model_id:
        summary.verdict, summary.champion = "the challenger is the champion already", champion
    else:
        decision = _decide(comparison, policy, promote, verdict, settings)
        summary.decision, summary.verdict = decision, decision.note
        summary.champion = record_decision(decision, run_id, settings)
    get_run_logger().info(summary.headline())
    return summary


def _decide(
    comparison: Comparison, policy: str, promote: bool, verdict: str, settings: Settings
) -> Decision:
    """The decision the policy, or the reviewer, takes on this comparison."""
    decided_by, note = "policy", verdict
    auto_says = f"auto would {'promote' if promote else 'keep'}: {verdict}"
    if policy == "never":
        promote, note = False, f"recorded only; {auto_says}"
    elif policy == "manual":
        promote, decided_by, note = _review(comparison, auto_says, settings)
    champion, challenger = comparison.champion.model_id, comparison.challenger.model_id
    return Decision(
        action="promote" if promote else "keep",
        from_model=champion,
        to_model=challenger,
        champion_after=challenger if promote else champion,
        policy=policy,
        decided_by=decided_by,
        note=note,
        metrics=comparison.metrics_record(),
    )


def _review(comparison: Comparison, auto_says: str, settings: Settings) -> tuple[bool, str, str]:
    """Pause for a reviewer's approve / reject in the Prefect UI; a timeout keeps the champion."""
    logger = get_run_logger()
    timeout = settings.promotion.manual_timeout_seconds
    logger.info(
        "waiting up to %d s for a review: open this flow run in the Prefect UI and resume it "
        "with approve / reject (the champion-vs-challenger artifact has the numbers)",
        timeout,
    )
    form = PromotionReview.with_initial_data(
        description=report(comparison, [comparison.challenger], f"manual; {auto_says}"),
        approve=False,
    )
    try:
        review = pause_flow_run(
            wait_for_input=form,
            timeout=timeout,
            poll_interval=settings.promotion.manual_poll_seconds,
        )
    except FlowPauseTimeout:
        _resume_after_timeout()
        return False, "policy", f"no review within {timeout} s, the champion stays"
    reviewer = review.reviewer.strip() or "a reviewer in the Prefect UI"
    verb = "approved" if review.approve else "rejected"
    return review.approve, reviewer, f"{verb}. {review.note}".strip()


def _resume_after_timeout() -> None:
    """Take the run out of its expired pause so it can record the decision and complete.

    Prefect's server refuses every transition out of a pause whose timeout passed (the run
    would end Failed, "paused and never resumed"), but for hhcast a review that never came is
    an answer: the champion stays, the decision is recorded, and the run completes.
    """
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run.get_id())
        if not run.state.is_paused():  # cancelled meanwhile: leave it so
            return
        client.set_flow_run_state(
            run.id, Running(message="no review before the timeout"), force=True
        )
