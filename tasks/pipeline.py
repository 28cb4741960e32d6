"""The pipeline run's own page: each step's verdict and run, in its log and an artifact.

The steps' artifacts sit on their own (subflow) runs; the pipeline run says in one line
whether the week's job needs a person, and its `pipeline-summary` artifact has a row per step
linking the step's run page, whose Artifacts tab holds what the step published, and the
report. The rows and the verdict are pure functions of the steps, testable without Prefect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.settings import PREFECT_UI_URL
from prefect.states import State

from tasks.states import run_id_of

ARTIFACT_KEY = "pipeline-summary"


@dataclass(frozen=True)
class Step:
    """One step of a pipeline run as its page shows it."""

    name: str  # ingest, transform, monitor, train, champion, forecast, report
    status: str  # ok | failed | skipped | not run (after a failed transform) | none (champion)
    verdict: str  # what it did, or why it failed or did not run
    run_id: str | None = None  # the step's own (subflow) run
    page: str | None = None  # an http(s) address the step wrote to (the report's page)


def broken_steps(states: Mapping[str, State], error: BaseException) -> list[Step]:
    """The page of a run that a step's exception ended: the steps that ran, each as its state
    ended, and the error (a row of its own when no step's state shows it)."""
    steps = []
    for name, state in states.items():
        run_id = run_id_of(state)
        if state.is_completed():
            steps.append(Step(name, "ok", "completed; its run has what it did", run_id))
        else:
            why = state.message or f"{type(error).__name__}: {error}"
            steps.append(Step(name, "failed", f"{state.name}: {why}", run_id))
    if not needs_attention(steps):
        steps.append(Step("pipeline", "failed", f"{type(error).__name__}: {error}"))
    return steps


def needs_attention(steps: Sequence[Step]) -> list[Step]:
    """The steps that failed."""
    return [s for s in steps if s.status == "failed"]


def description(steps: Sequence[Step], brief: str) -> str:
    """The artifact's one-line verdict: ok with `brief`, or which steps failed and why."""
    failed = needs_attention(steps)
    if not failed:
        return f"**Pipeline ok**: {brief}"
    why = "; ".join(f"{s.name} failed: {_one_line(s.verdict)}" for s in failed)
    return f"**Pipeline needs attention**: {why}"


def log_lines(steps: Sequence[Step], brief: str) -> str:
    """The summary as the pipeline run's log shows it: the verdict, then a line per step."""
    lines = [description(steps, brief).replace("**", "")]
    lines += [f"  {s.name:<9} {s.status}: {_one_line(s.verdict)}" for s in steps]
    return "\n".join(lines)


def run_url(ui_url: str | None, run_id: str) -> str | None:
    """The Prefect UI's page of a flow run, when there is a UI."""
    return f"{ui_url.rstrip('/')}/runs/flow-run/{run_id}" if ui_url else None


def run_cell(step: Step, ui_url: str | None, names: Mapping[str, str]) -> str:
    """Links to the step's run page and its Artifacts tab; its name and id without a UI."""
    parts = []
    if step.run_id:
        name = names.get(step.run_id, step.run_id)
        url = run_url(ui_url, step.run_id)
        parts += (
            [f"[{name}]({url})", f"[artifacts]({url}?tab=Artifacts)"]
            if url
            else [f"`{name}` (run `{step.run_id}`)" if name != step.run_id else f"`{name}`"]
        )
    if step.page:
        parts.append(f"[page]({step.page})")
    return " · ".join(parts) or "—"


def markdown(steps: Sequence[Step], ui_url: str | None, names: Mapping[str, str]) -> str:
    """The artifact: a row per step with its status, links and verdict (the UI shows the
    description, the run's verdict, above it)."""
    lines = ["| step | status | run | what it did |", "|---|---|---|---|"]
    lines += [
        f"| {s.name} | {s.status} | {run_cell(s, ui_url, names)} | {_cell(s.verdict)} |"
        for s in steps
    ]
    if not ui_url:
        lines += ["", "No Prefect UI address is known (PREFECT_UI_URL): runs are named by id."]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def _run_names(run_ids: list[str]) -> dict[str, str]:
    """The steps' run names, by id (a run renamed as it planned included)."""
    if not run_ids:
        return {}
    with get_client(sync_client=True) as client:
        wanted = FlowRunFilter(id=FlowRunFilterId(any_=run_ids))
        runs = client.read_flow_runs(flow_run_filter=wanted)
    return {str(r.id): r.name for r in runs}


def publish_pipeline_summary(steps: list[Step], brief: str) -> str:
    """The `pipeline-summary` markdown artifact; its description. Called in the pipeline flow
    itself, not in a task, so the UI lists it as the flow run's own."""
    names = _run_names([s.run_id for s in steps if s.run_id])
    said = description(steps, brief)
    create_markdown_artifact(
        key=ARTIFACT_KEY, markdown=markdown(steps, PREFECT_UI_URL.value(), names), description=said
    )
    return said
