"""The train flow's manual review: the form in the Prefect UI, the pause, and its timeout.

A paused review holds neither the warehouse's lock nor its file, so it can wait as long as
`promotion.manual_timeout_seconds` says (see prefect.yaml on why no deployment has a
concurrency limit).
"""

from __future__ import annotations

from prefect import get_run_logger, pause_flow_run
from prefect.client.orchestration import get_client
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Running
from pydantic import Field

from hhcast.config import Settings
from tasks.ml.promotion import Comparison, report

# What Prefect's server says when its pause-expiry service fails a run nobody resumed.
PAUSE_EXPIRED = "paused and never resumed"


class PromotionReview(RunInput):
    """The form a reviewer fills in the Prefect UI to resume a paused training run."""

    approve: bool = Field(
        False,
        description="Tick to make the challenger champion; leave unticked to keep the champion",
    )
    reviewer: str = Field(
        min_length=1, description="Your name (required), kept in ml.promotions as decided_by"
    )
    note: str = Field("", description="Why you decided so; kept in ml.promotions")


def review_form(markdown: str) -> type[PromotionReview]:
    """The form with the comparison shown above it.

    No field is given initial data: `with_initial_data` redefines the fields it is given,
    and their help texts are lost (approve is unticked by default anyway).
    """
    return PromotionReview.with_initial_data(description=markdown)


def review(comparison: Comparison, auto_says: str, settings: Settings) -> tuple[bool, str, str]:
    """Pause for a reviewer's approve / reject in the Prefect UI; a timeout keeps the champion."""
    logger = get_run_logger()
    timeout = settings.promotion.manual_timeout_seconds
    logger.info(
        "waiting up to %d s for a review: open this flow run in the Prefect UI and resume it "
        "with approve / reject (the champion-vs-challenger artifact has the numbers)",
        timeout,
    )
    form = review_form(report(comparison, [comparison.challenger], f"manual; {auto_says}"))
    try:
        review = pause_flow_run(
            wait_for_input=form,
            timeout=timeout,
            poll_interval=settings.promotion.manual_poll_seconds,
        )
    except FlowPauseTimeout:
        resume_after_timeout()
        return False, "policy", f"no review within {timeout} s, the champion stays"
    reviewer = review.reviewer.strip() or "a reviewer in the Prefect UI"
    verb = "approved" if review.approve else "rejected"
    return review.approve, reviewer, f"{verb}. {review.note}".strip()


def resume_after_timeout() -> None:
    """Take the run out of its expired pause so it can record the decision and complete.

    Prefect's server refuses every transition out of a pause whose timeout passed (the run
    would end Failed, "paused and never resumed"), but for hhcast a review that never came is
    an answer: the champion stays, the decision is recorded, and the run completes.
    """
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run.get_id())
        # A server's pause-expiry service may have failed the run first (it looks every few
        # seconds): that Failed is the same expired pause, not a reason to stop. A run
        # cancelled meanwhile is left so.
        expired = run.state.is_failed() and PAUSE_EXPIRED in (run.state.message or "")
        if not (run.state.is_paused() or expired):
            return
        client.set_flow_run_state(
            run.id, Running(message="no review before the timeout"), force=True
        )
