"""The notify flow's work: turn a Prefect event (a run paused for review, failed or crashed,
or the champion degraded) into a notice people see: a warning in the run's log and a markdown
artifact on the Artifacts page, with a link to the run.

Open-source Prefect sends notifications through blocks (Slack, e-mail, a webhook); this works
offline with none, and a block-backed automation can be added beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_UI_URL

FLOW_RUN_PREFIX = "prefect.flow-run."
# What each watched event says, and the artifact key of its notices.
NOTICES = {
    "prefect.flow-run.Paused": ("review waiting", "review-waiting"),
    "prefect.flow-run.Failed": ("run failed", "run-failed"),
    "prefect.flow-run.Crashed": ("run crashed", "run-crashed"),
    "hhcast.forecast.degraded": ("champion degraded", "forecast-degraded"),
}


@dataclass(frozen=True)
class Notice:
    """One notice: the artifact's key, its one-line verdict, and its markdown."""

    key: str
    headline: str
    markdown: str


def run_link(resource_id: str, ui_url: str | None) -> str | None:
    """The Prefect UI's page of a flow run named by its event resource, when there is a UI
    (the route of prefect.utilities.urls.url_for)."""
    if not resource_id.startswith(FLOW_RUN_PREFIX) or not ui_url:
        return None
    return f"{ui_url.rstrip('/')}/runs/flow-run/{resource_id.removeprefix(FLOW_RUN_PREFIX)}"


def notice(event: str, resource_id: str, name: str | None, ui_url: str | None) -> Notice:
    """What to tell people about `event` on the resource `resource_id` (called `name`)."""
    what, key = NOTICES.get(event, (event, "notice"))
    subject = name if name and name != "None" else resource_id
    link = run_link(resource_id, ui_url)
    headline = f"{what}: {subject}" + (f" ({link})" if link else "")
    todo = {
        "review-waiting": "Open the run, read the champion-vs-challenger artifact, and resume it "
        "with approve ticked or not (no answer before the timeout keeps the champion).",
        "run-failed": "Open the run: its log and summary artifact say which step failed and why.",
        "run-crashed": "The run's process died (killed, out of memory, worker lost): open the "
        "run's log, then run it again.",
        "forecast-degraded": "The train deployment retrains by itself; check the monitor-figures "
        "artifact and the challenger's review.",
    }.get(key, "")
    target = f"[{subject}]({link})" if link else f"`{subject}`"
    markdown = f"## {what.capitalize()}\n\n{target}\n\nEvent `{event}`. {todo}"
    return Notice(key, headline, markdown.strip())


@task(name="publish-notice", cache_policy=NO_CACHE)
def publish_notice(event: str, resource_id: str, name: str | None) -> Notice:
    """Log the notice as a warning and publish it as a markdown artifact."""
    told = notice(event, resource_id, name, PREFECT_UI_URL.value())
    get_run_logger().warning(told.headline)
    create_markdown_artifact(key=told.key, markdown=told.markdown, description=told.headline)
    return told
