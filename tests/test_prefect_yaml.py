"""prefect.yaml deploys as written: every deployment, its entrypoint, schedule and parameters,
and none with a concurrency limit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).parent / "prefect")


@pytest.mark.usefixtures("prefect_harness")
def test_prefect_deploy_all_creates_every_deployment():
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    subprocess.run(
        [PREFECT, "work-pool", "create", "hhcast", "--type", "process", "--overwrite"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    done = subprocess.run(
        [PREFECT, "--no-prompt", "deploy", "--all"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    declared = {
        d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    }
    with get_client(sync_client=True) as client:
        deployed = {d.name: d for d in client.read_deployments()}
    assert set(declared) <= set(deployed)
    # No deployment limits its concurrency: writers queue on the warehouse's own lock. Prefect
    # frees a deployment's slot when its run pauses, then cancels the paused run (Crashed) when
    # it renews the lease, so a limit would end every review after 3-4 minutes
    # (tests/flows/test_stack.py holds a deployed review longer, under `hhcast stack`).
    assert [name for name, d in declared.items() if "concurrency_limit" in d] == []
    assert [name for name, d in deployed.items() if d.global_concurrency_limit] == []
    pipeline = deployed["pipeline-daily"]
    assert pipeline.entrypoint == "flows/pipeline.py:pipeline"
    assert pipeline.parameters == {
        "source": None, "full_refresh": False, "promotion": None, "retrain": False,
    }  # fmt: skip
    assert [s.schedule.cron for s in pipeline.schedules] == ["0 5 * * *"]
    # ... and whenever new exports announce themselves (a file-drop script, the live demo)
    with get_client(sync_client=True) as client:
        delivered = [
            a for a in client.read_automations() if a.actions[0].deployment_id == pipeline.id
        ]
    assert [a.trigger.expect for a in delivered] == [{"hhcast.landing.delivered"}]
    assert delivered[0].trigger.match["prefect.resource.id"] in (
        "hhcast.landing.*", ["hhcast.landing.*"]
    )  # fmt: skip
    assert deployed["transform"].entrypoint == "flows/transform.py:transform"
    assert deployed["train"].entrypoint == "flows/train.py:train_models"
    assert deployed["train"].parameters == {"dataset_version": None, "promotion": None}
    assert deployed["retrain"].entrypoint == "flows/retrain.py:retrain"
    # The UI's run form is built from the flow's parameter schema: promotion is a choice.
    promotion = deployed["retrain"].parameter_openapi_schema["properties"]["promotion"]
    assert all(f"'{policy}'" in str(promotion) for policy in ("auto", "manual", "never"))
    assert deployed["forecast"].entrypoint == "flows/forecast.py:forecast"
    assert "what_if" in deployed["forecast"].parameter_openapi_schema["properties"]
    assert deployed["monitor"].entrypoint == "flows/monitor.py:monitor"
    assert deployed["report"].entrypoint == "flows/report.py:report"
    # A degraded champion retrains by itself: the train deployment's trigger on the event.
    with get_client(sync_client=True) as client:
        automations = client.read_automations()
    retraining = [a for a in automations if a.actions[0].deployment_id == deployed["train"].id]
    assert [a.trigger.expect for a in retraining] == [{"hhcast.forecast.degraded"}]
    # ... unless the pipeline retrains in the run that raised it
    assert retraining[0].trigger.match["hhcast.retrain"] in (
        "train-deployment", ["train-deployment"]
    )  # fmt: skip
    # The UI's run forms explain every parameter (help texts from the flows' docstrings).
    for name in ("pipeline-daily", "train", "retrain", "forecast", "notify"):
        properties = deployed[name].parameter_openapi_schema["properties"]
        assert all(p.get("description") for p in properties.values()), name
    # Reviewers are told: the notify deployment's automations, one per event.
    assert deployed["notify"].entrypoint == "flows/notify.py:notify"
    notifying = {
        a.name: a for a in automations if a.actions[0].deployment_id == deployed["notify"].id
    }
    assert {name: a.trigger.expect for name, a in notifying.items()} == {
        "hhcast: review waiting": {"prefect.flow-run.Paused"},
        "hhcast: run failed": {"prefect.flow-run.Failed"},
        "hhcast: run crashed": {"prefect.flow-run.Crashed"},
        "hhcast: champion degraded": {"hhcast.forecast.degraded"},
    }
    assert all(a.enabled for a in notifying.values())

    def flows_watched(automation) -> list[str]:
        related = automation.trigger.match_related  # one specification: a flow by name
        assert related["prefect.resource.role"] == ["flow"]
        return sorted(related["prefect.resource.name"])

    assert flows_watched(notifying["hhcast: review waiting"]) == ["train"]
    watched = flows_watched(notifying["hhcast: run failed"])
    assert "pipeline" in watched and "train" in watched
    assert "notify" not in watched  # a failed notice must not notify again, and again
    assert flows_watched(notifying["hhcast: run crashed"]) == watched
    action = notifying["hhcast: review waiting"].actions[0]
    assert action.parameters["resource_id"] == "{{ event.resource.id }}"
