"""`hhcast stack`: how commands find it, a stale state file, and the whole stack served for real,
a manual review under its deployment held past the lease that used to kill it included."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect_server import PrefectStack

from flows import stack, stack_state
from flows.processes import alive, descendants, free_port
from flows.scratch import QUICK_CANDIDATES, scratch_project
from hhcast.sample import generate
from tasks.review import PAUSE_EXPIRED
from warehouse.connection import connect, writer_lock

HHCAST = str(Path(sys.executable).parent / "hhcast")
# A paused train run must outlast the lease (300 s, renewed at 225 s) of a deployment
# concurrency slot, which killed a paused review 3 min 32 s in (prefect.yaml sets no limit
# since): held this long, with room, and checked every POLL_SECONDS.
HOLD_SECONDS = 390
POLL_SECONDS = 15


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def write_state(home: Path, **state) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / stack_state.STATE_FILE
    path.write_text(json.dumps(state), encoding="utf-8")
    return path


def test_a_ready_stack_points_commands_at_its_api(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    write_state(tmp_path, pid=os.getpid(), port=4321, ready=True)
    found = stack_state.use_running_stack(tmp_path)
    assert found is not None and found.ui_url == "http://127.0.0.1:4321"
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4321/api"


def test_the_users_own_api_url_wins_over_the_stack(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.plant.example/api")
    write_state(tmp_path, pid=os.getpid(), port=4321, ready=True)
    assert stack_state.use_running_stack(tmp_path) is None
    assert os.environ["PREFECT_API_URL"] == "http://prefect.plant.example/api"


def test_a_stack_still_starting_is_not_used(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    write_state(tmp_path, pid=os.getpid(), port=4321, ready=False)
    assert stack_state.use_running_stack(tmp_path) is None
    assert "PREFECT_API_URL" not in os.environ
    assert "still starting" in capsys.readouterr().err


def test_a_state_file_left_by_a_dead_stack_is_removed(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    path = write_state(tmp_path, pid=dead_pid(), port=4321, ready=True)
    assert stack_state.use_running_stack(tmp_path) is None
    assert not path.exists()
    assert "PREFECT_API_URL" not in os.environ
    assert stack.stop(tmp_path) == 0
    assert "none is running here" in capsys.readouterr().out


def test_starting_a_second_stack_says_where_the_first_is(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prefect.yaml").write_text("name: hhcast\n")
    write_state(tmp_path / ".prefect", pid=os.getpid(), port=4321, ready=True)
    assert stack.start(port=4321) == 0
    assert f"already (pid {os.getpid()}): http://127.0.0.1:4321" in capsys.readouterr().out


def served_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project folder like a fresh clone (its code linked, not copied) with a small sample,
    and the environment a user would start the stack from."""
    # Without flight plans: training needs none, and the sample is quicker to make.
    generate(tmp_path / "sample", preset="small", seed=7, plan_weeks=0)
    return scratch_project(
        tmp_path,
        HHCAST_LANDING=str(tmp_path / "sample" / "landing"),
        HHCAST_LAKE=str(tmp_path / "lake"),
        HHCAST_WAREHOUSE=str(tmp_path / "warehouse" / "hhcast.duckdb"),
        HHCAST_INGEST__WORKER_PROCESSES="0",
        HHCAST_TRAINING__CANDIDATES=QUICK_CANDIDATES,
        HHCAST_PROMOTION__MANUAL_TIMEOUT_SECONDS="1800",  # far past the review's hold
        HHCAST_PROMOTION__MANUAL_POLL_SECONDS="2",
    )


def models(warehouse: Path) -> dict[str, tuple[str, str]]:
    """model_id -> (algorithm, status), read while no flow run holds the file."""
    with connect(warehouse, read_only=True, timeout=5) as con:
        rows = con.execute("select model_id, algorithm, status from ml.models").fetchall()
    return {model_id: (algorithm, status) for model_id, algorithm, status in rows}


def decisions(warehouse: Path) -> list[tuple]:
    """ml.promotions, oldest first."""
    with connect(warehouse, read_only=True, timeout=5) as con:
        return con.execute(
            "select action, from_model, to_model, champion_after, policy, decided_by, note "
            "from ml.promotions order by decided_at"
        ).fetchall()


def event(name: str, resource: dict, related: list[dict] | None = None) -> dict:
    """An event as Prefect's own would post it."""
    return {
        "id": str(uuid.uuid4()),
        "occurred": datetime.now(UTC).isoformat(),
        "event": name,
        "resource": resource,
        "related": related or [],
        "payload": {},
    }


def failed(flow_name: str, run_name: str) -> dict:
    """The event of a run of `flow_name` ending Failed."""
    run = f"prefect.flow-run.{uuid.uuid4()}"
    return event(
        "prefect.flow-run.Failed",
        {"prefect.resource.id": run, "prefect.resource.name": run_name},
        [{"prefect.resource.id": f"prefect.flow.{uuid.uuid4()}",
          "prefect.resource.role": "flow", "prefect.resource.name": flow_name}],
    )  # fmt: skip


def notices_after(served: PrefectStack, events: list[dict], expected_runs: int) -> list[tuple]:
    """Post `events` to the server; once the notify deployment has `expected_runs` runs and
    they completed, each run's (name, notice), sorted by name."""
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        DeploymentFilter,
        DeploymentFilterId,
    )  # fmt: skip

    with served.client() as client:
        notify = client.read_deployment_by_name("notify/notify")
        automations = client.read_automations()
    # the triggers service only acts on automations it has loaded: wait for it a moment
    assert {a.name for a in automations} >= {"hhcast: run failed", "hhcast: champion degraded"}
    time.sleep(10)
    request = urllib.request.Request(
        f"{served.api_url}/events", data=json.dumps(events).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    urllib.request.urlopen(request, timeout=30).close()
    of_notify = DeploymentFilter(id=DeploymentFilterId(any_=[notify.id]))
    deadline = time.monotonic() + 300
    runs = []
    while time.monotonic() < deadline and len(runs) < expected_runs:
        time.sleep(2)
        with served.client() as client:
            runs = client.read_flow_runs(deployment_filter=of_notify)
    assert len(runs) == expected_runs, served.logs()
    for run in runs:
        served.wait_for_state(run.id, {"COMPLETED"}, timeout=300)
    time.sleep(5)  # a notify run for notify's own failure would have been made by now
    with served.client() as client:
        runs = client.read_flow_runs(deployment_filter=of_notify)
        return sorted(
            (
                run.name,
                client.read_artifacts(
                    artifact_filter=ArtifactFilter(
                        flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])
                    )
                )[0].description,
            )
            for run in runs
        )


def scheduled_runs(served: PrefectStack, deployment: str, timeout: float = 180) -> list:
    """The deployment's scheduled runs, once the server's scheduler has made some."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )  # fmt: skip

    deadline = time.monotonic() + timeout
    with served.client() as client:
        deployment_id = client.read_deployment_by_name(deployment).id
        while True:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["SCHEDULED"]))
                ),
            )
            if runs or time.monotonic() > deadline:
                return runs
            time.sleep(2)


@pytest.mark.slow
def test_the_stack_serves_deployments_and_commands_and_stops_leaving_nothing(tmp_path):
    """One stack for everything a real server and worker must show (starting one costs minutes
    on a busy 2-core machine): commands and deployments use it, a deployed review stays paused
    as long as the reviewer takes and resumes with their input, an unanswered one keeps the
    champion, and stopping it leaves no process and marks the runs it cut short."""
    from prefect.flow_runs import resume_flow_run

    project, env = served_project(tmp_path)
    warehouse = Path(env["HHCAST_WAREHOUSE"])
    home = project / ".prefect"
    port = free_port()
    output = tmp_path / "stack.out"
    with output.open("wb") as out:
        supervisor = subprocess.Popen(
            [HHCAST, "stack", "--port", str(port)], cwd=project, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    served = PrefectStack(home, f"http://127.0.0.1:{port}/api", env)
    try:
        state = stack_state.wait_until_ready(supervisor, home, 300)
        assert state is not None, f"the stack did not come up in 300 s\n{output.read_text()}"
        assert state.pid == supervisor.pid and state.port == port
        assert f"UI         http://127.0.0.1:{port}" in output.read_text()

        again = subprocess.run([HHCAST, "stack", "--port", str(port)], cwd=project, env=env,
                               capture_output=True, text=True, timeout=120)  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert f"already (pid {supervisor.pid}): http://127.0.0.1:{port}" in again.stdout

        # Deployments run through the stack's worker, with the shell's HHCAST_* settings.
        served.wait_for_state(served.run_deployment("ingest/ingest"), {"COMPLETED"}, timeout=300)

        # A command run in the project uses the stack (no temporary API) and links its run.
        ingest = subprocess.run([HHCAST, "ingest"], cwd=project, env=env,
                                capture_output=True, text=True, timeout=600)  # fmt: skip
        assert ingest.returncode == 0, ingest.stderr
        assert f"run: http://127.0.0.1:{port}/runs/flow-run/" in ingest.stdout
        assert "temporary server" not in ingest.stdout + ingest.stderr
        assert "running hhcast ingest" in (home / "warm.log").read_text()  # the stack's spare

        transform = served.run_deployment("transform/transform")
        served.wait_for_state(transform, {"COMPLETED"}, timeout=300)
        with served.client() as client:
            from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[transform])
                )
            )
        assert "transform-summary" in {a.key for a in artifacts}

        # The daily schedule is served: the scheduler plans pipeline-daily's next runs.
        planned = scheduled_runs(served, "pipeline/pipeline-daily")
        assert planned and all(run.expected_start_time.hour == 5 for run in planned)
        # Paused from here on (which deletes those runs), so a test running at 05:00 UTC has
        # no pipeline run of the schedule's beside its own.
        with served.client() as client:
            client.pause_deployment(client.read_deployment_by_name("pipeline/pipeline-daily").id)

        # A manual review pauses on the stack's server and stays paused while the reviewer
        # takes their time, past the lease that used to kill it.
        review = served.run_deployment("train/train", {"promotion": "manual"})
        served.wait_for_state(review, {"PAUSED"}, timeout=300)
        paused_at = time.monotonic()
        # Nothing is held across the pause: the file opens and the writer lock is free.
        registry = models(warehouse)
        with writer_lock(warehouse, timeout=0):
            pass
        (naive,) = [m for m, (_, status) in registry.items() if status == "champion"]
        (challenger,) = [m for m, (_, status) in registry.items() if status == "challenger"]
        assert registry[naive][0] == "naive" and registry[challenger][0] != "naive"

        # While the review waits, events in, notices out: the automations prefect.yaml
        # declares start notify runs whose templated parameters name the run or the champion,
        # never one for a failure of notify itself; the paused review has started one already.
        notices = notices_after(
            served,
            [
                failed("notify", "notify-failed"),  # ignored: notify does not answer itself
                failed("ingest", "ingest-landing"),
                event(
                    "hhcast.forecast.degraded",
                    {
                        "prefect.resource.id": "hhcast.warehouse.hhcast.duckdb",
                        "hhcast.champion": "m-42",
                    },
                ),
            ],
            expected_runs=3,
        )
        assert [name for name, _ in notices] == [
            "notify-degraded",
            "notify-failed",
            "notify-paused",
        ]
        by_name = dict(notices)
        assert by_name["notify-failed"].startswith("run failed: ingest-landing (http")
        assert by_name["notify-degraded"] == "champion degraded: m-42"
        assert by_name["notify-paused"].startswith("review waiting: train-")

        while (held := time.monotonic() - paused_at) < HOLD_SECONDS:
            time.sleep(POLL_SECONDS)
            paused = served.state(review)
            assert paused.is_paused(), (
                f"{held:.0f} s into the review the run is {paused.name}: {paused.message}\n"
                f"{served.logs()}"
            )
        print(f"review held {held:.0f} s")  # -rP shows it
        # ... and resumes with the reviewer's input, through the stack's API.
        with served.client():
            resume_flow_run(
                review, run_input={"approve": True, "reviewer": "ana", "note": "checked"}
            )
        served.wait_for_state(review, {"COMPLETED"}, timeout=300)

        # A review nobody answers: the server's pause-expiry service may fail the run before
        # the flow sees its timeout; the run still records a keep and completes.
        unanswered = served.run_deployment(
            "train/train", {"promotion": "manual"},
            env={"HHCAST_PROMOTION__MANUAL_TIMEOUT_SECONDS": "20"},
        )  # fmt: skip
        served.wait_for_state(unanswered, {"PAUSED"}, timeout=300)
        served.wait_for_state(unanswered, {"COMPLETED"}, timeout=300, passing=PAUSE_EXPIRED)
        decided = decisions(warehouse)
        assert decided[-2] == (
            "promote", naive, challenger, challenger, "manual", "ana", "approved. checked",
        )  # fmt: skip
        action, from_model, _, champion_after, policy, decided_by, note = decided[-1]
        assert (action, from_model, champion_after, policy, decided_by) == (
            "keep", challenger, challenger, "manual", "policy",
        )  # fmt: skip
        assert note == "no review within 20 s, the champion stays"
        statuses = {m: status for m, (_, status) in models(warehouse).items()}
        assert [m for m, s in statuses.items() if s == "champion"] == [challenger]
        assert statuses[naive] == "retired"
        # The unanswered run's challenger is the one challenger; the reviewed run left none.
        assert list(statuses.values()).count("challenger") == 1

        # A review left waiting when the stack stops: its process goes, and its run says so.
        abandoned = served.run_deployment("train/train", {"promotion": "manual"})
        served.wait_for_state(abandoned, {"PAUSED"}, timeout=300)

        started = [supervisor.pid, *descendants(supervisor.pid)]
        assert len(started) >= 3  # the server, the worker and what they started
        stop = subprocess.run([HHCAST, "stack", "stop"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert stop.returncode == 0, stop.stderr
        assert supervisor.wait(timeout=30) == 0
        assert [pid for pid in started if alive(pid)] == []
        assert not (home / stack_state.STATE_FILE).exists()
        assert "hhcast stack stopped in" in output.read_text()
        with sqlite3.connect(home / "prefect.db") as db:  # the server's own record, offline
            (left,) = db.execute(
                "select s.type, s.message from flow_run r join flow_run_state s on s.id = "
                "r.state_id where r.id = ?",
                (str(abandoned),),
            ).fetchall()
        assert left == ("CRASHED", stack.ABANDONED)
    finally:
        if supervisor.poll() is None:
            from flows.processes import stop_tree

            stop_tree(supervisor.pid)
    # The review cut short decided nothing: the last decisions are still the two above.
    assert decisions(warehouse) == decided
