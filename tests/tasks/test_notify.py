"""The notices the notify flow publishes for the automations' events."""

from __future__ import annotations

import pytest

from tasks.notify import notice, run_link

RUN = "prefect.flow-run.0b7c2a4e-1111-4222-8333-444455556666"


def test_a_paused_run_gets_a_review_notice_linking_to_it():
    told = notice("prefect.flow-run.Paused", RUN, "train-latest-manual", "http://ui:4200/")
    link = "http://ui:4200/runs/flow-run/0b7c2a4e-1111-4222-8333-444455556666"
    assert told.key == "review-waiting"
    assert told.headline == f"review waiting: train-latest-manual ({link})"
    assert f"[train-latest-manual]({link})" in told.markdown
    assert "resume" in told.markdown


@pytest.mark.parametrize(
    ("event", "key", "verdict"),
    [
        ("prefect.flow-run.Failed", "run-failed", "run failed: ingest-landing"),
        ("prefect.flow-run.Crashed", "run-crashed", "run crashed: ingest-landing"),
    ],
)
def test_failed_and_crashed_runs_are_named(event, key, verdict):
    told = notice(event, RUN, "ingest-landing", None)
    assert (told.key, told.headline) == (key, verdict)  # no UI URL: no link


def test_a_degraded_champion_names_the_champion_not_a_run():
    told = notice("hhcast.forecast.degraded", "hhcast.warehouse.hhcast.duckdb", "m-42", "http://ui")
    assert told.key == "forecast-degraded"
    assert told.headline == "champion degraded: m-42"
    assert run_link("hhcast.warehouse.hhcast.duckdb", "http://ui") is None


def test_an_unrendered_name_falls_back_to_the_resource():
    # a template over a missing label renders "None"
    assert notice("prefect.flow-run.Failed", RUN, "None", None).headline == f"run failed: {RUN}"


@pytest.mark.usefixtures("prefect_harness")
def test_the_notify_flow_names_its_run_and_publishes_the_notice():
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.notify import notify

    state = notify("prefect.flow-run.Paused", RUN, "train-latest-manual", return_state=True)
    assert state.is_completed()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        # filtered by the server: the session's harness holds more artifacts than a page
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
    assert run.name == "notify-paused"
    (card,) = [a for a in artifacts if a.flow_run_id == run.id]
    assert card.key == "review-waiting"
    assert card.description.startswith("review waiting: train-latest-manual")
