"""The notify automations under a real Prefect server and worker: an event in, a notice out.

Events are posted as Prefect's own would be (a run Failed, the champion degraded); the
automations prefect.yaml declares must start notify runs whose templated parameters name
the run or the champion, and must not answer a failure of notify itself.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    DeploymentFilter,
    DeploymentFilterId,
)
from prefect_server import prefect_stack

pytestmark = pytest.mark.slow


def _event(name: str, resource: dict, related: list[dict] | None = None) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "occurred": datetime.now(UTC).isoformat(),
        "event": name,
        "resource": resource,
        "related": related or [],
        "payload": {},
    }


def _failed(flow_name: str, run_name: str) -> dict:
    run = f"prefect.flow-run.{uuid.uuid4()}"
    return _event(
        "prefect.flow-run.Failed",
        {"prefect.resource.id": run, "prefect.resource.name": run_name},
        [{"prefect.resource.id": f"prefect.flow.{uuid.uuid4()}",
          "prefect.resource.role": "flow", "prefect.resource.name": flow_name}],
    )  # fmt: skip


def test_events_start_notify_runs_that_name_what_happened(tmp_path):
    with prefect_stack(tmp_path / "prefect") as stack:
        stack.deploy("notify")
        stack.start_worker()
        with stack.client() as client:
            notify = client.read_deployment_by_name("notify/notify")
            automations = client.read_automations()
        # the triggers service only acts on automations it has loaded: wait for it a moment
        assert {a.name for a in automations} >= {"hhcast: run failed", "hhcast: champion degraded"}
        time.sleep(10)
        events = [
            _failed("notify", "notify-failed"),  # ignored: notify does not answer itself
            _failed("ingest", "ingest-landing"),
            _event(
                "hhcast.forecast.degraded",
                {
                    "prefect.resource.id": "hhcast.warehouse.hhcast.duckdb",
                    "hhcast.champion": "m-42",
                },
            ),
        ]
        request = urllib.request.Request(
            f"{stack.api_url}/events", data=json.dumps(events).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        urllib.request.urlopen(request, timeout=30).close()

        deadline = time.monotonic() + 300
        runs = []
        while time.monotonic() < deadline and len(runs) < 2:
            time.sleep(2)
            with stack.client() as client:
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[notify.id]))
                )
        assert len(runs) == 2, stack.logs()
        for run in runs:
            stack.wait_for_state(run.id, {"COMPLETED"}, timeout=300)
        time.sleep(5)  # a notify run for notify's own failure would have been made by now
        with stack.client() as client:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[notify.id]))
            )
            notices = {
                run.name: client.read_artifacts(
                    artifact_filter=ArtifactFilter(
                        flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])
                    )
                )[0].description
                for run in runs
            }
    assert sorted(notices) == ["notify-degraded", "notify-failed"]
    assert notices["notify-failed"].startswith("run failed: ingest-landing (http")
    assert notices["notify-degraded"] == "champion degraded: m-42"
