"""The hhcast the screenshots show: a project folder like a fresh clone, `hhcast stack`
serving it, `hhcast run` through it and a manual review left Paused (docs/screenshots.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from flows.processes import alive, descendants, free_port, stop_tree
from flows.scratch import QUICK_CANDIDATES, scratch_project
from flows.stack_state import wait_until_ready
from hhcast.sample import generate

ROOT = Path(__file__).resolve().parents[1]
HHCAST = str(Path(sys.executable).parent / "hhcast")
RUN_LINK = re.compile(r"run: http://\S+/runs/flow-run/([0-9a-f-]{36})")
VERSION = re.compile(r"dataset version ([0-9a-f]{16})")
READY_SECONDS = 300  # the stack takes 35-100 s on a busy 2-core machine
RUN_SECONDS = 300  # a deployment run: the worker starts a process, imports, trains


@dataclass(frozen=True)
class Served:
    """What the runs left on the stack's server, by id, for the pages' routes."""

    pipeline: str  # the `hhcast run` pipeline run
    pipeline_name: str
    review: str  # the paused manual training run
    review_name: str
    train_deployment: str
    report_artifact: str
    summary_artifact: str  # the pipeline run's pipeline-summary


def project_folder(base: Path) -> tuple[Path, dict[str, str]]:
    """A fresh-clone-like project with a small sample; the environment to run hhcast in."""
    generate(base / "sample", preset="small", seed=7)
    return scratch_project(
        base,
        HHCAST_LANDING=str(base / "sample" / "landing"),
        HHCAST_LAKE=str(base / "lake"),
        HHCAST_WAREHOUSE=str(base / "warehouse" / "hhcast.duckdb"),
        HHCAST_INGEST__WORKER_PROCESSES="0",
        HHCAST_TRAINING__CANDIDATES=QUICK_CANDIDATES,
        HHCAST_PROMOTION__MANUAL_POLL_SECONDS="2",
    )


class Stack:
    """`hhcast stack` started in the project for the block, stopped after it with nothing left."""

    def __init__(self, project: Path, env: dict[str, str], output: Path) -> None:
        self.project, self.env, self.output = project, env, output
        self.port = free_port()
        self.ui_url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.ui_url}/api"

    def __enter__(self) -> Stack:
        with self.output.open("wb") as out:
            self.supervisor = subprocess.Popen(
                [HHCAST, "stack", "--port", str(self.port)], cwd=self.project, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            self._wait_until_ready()
        except BaseException:
            stop_tree(self.supervisor.pid)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        started = [self.supervisor.pid, *descendants(self.supervisor.pid)]
        try:
            self.hhcast("stack", "stop")
            self.supervisor.wait(timeout=60)
        finally:
            if self.supervisor.poll() is None:
                stop_tree(self.supervisor.pid)
        left = [pid for pid in started if alive(pid)]
        if left:
            raise RuntimeError(f"the stack left processes behind: {left}")

    def hhcast(self, *args: str) -> str:
        """Run an hhcast command in the project (it uses the stack); its output."""
        done = subprocess.run([HHCAST, *args], cwd=self.project, env=self.env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"hhcast {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    @contextmanager
    def client(self) -> Iterator:
        """A synchronous Prefect client of the stack's API."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api_url}), get_client(sync_client=True) as c:
            yield c

    def wait_for(self, run_id: str, state: str, seconds: float = RUN_SECONDS) -> None:
        """Wait until the run is in `state` (a state type, e.g. PAUSED); fail on another end,
        or after `seconds`, saying where the run is and the last lines of its log."""
        deadline = time.monotonic() + seconds
        while True:
            now = self.state_of(run_id)
            if now is not None and now.type.value == state:
                return
            if now is not None and now.is_final():
                raise RuntimeError(f"run {run_id} ended {now.name}: {now.message}\n"
                                   f"{self.log_tail(run_id)}")  # fmt: skip
            if time.monotonic() > deadline:
                where = f"{now.name}: {now.message}" if now is not None else "no state"
                raise RuntimeError(
                    f"run {run_id} not {state} after {seconds:.0f} s, it is {where}\n"
                    f"{self.log_tail(run_id)}"
                )
            time.sleep(1)

    def state_of(self, run_id: str):
        """The run's state as the server has it now."""
        with self.client() as client:
            return client.read_flow_run(run_id).state

    def log_tail(self, run_id: str, lines: int = 15) -> str:
        """The last lines of the run's log on the server, and of the stack's own output."""
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
        from prefect.client.schemas.sorting import LogSort

        of_run = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)]))
        with self.client() as client:
            logs = client.read_logs(log_filter=of_run, sort=LogSort.TIMESTAMP_DESC, limit=lines)
        run_log = "\n".join(f"  {log.timestamp:%H:%M:%S} {log.message}" for log in logs[::-1])
        stack_log = "\n".join(
            f"  {line}" for line in self.output.read_text(errors="replace").splitlines()[-lines:]
        )
        return f"its log, last {lines} lines:\n{run_log}\nthe stack's output:\n{stack_log}"

    def latest_artifact(self, key: str) -> str | None:
        """The id of the newest artifact under `key`, if any."""
        with self.client() as client:
            found = client.read_latest_artifacts()
        return next((str(a.latest_id) for a in found if a.key == key), None)

    def _wait_until_ready(self) -> None:
        if wait_until_ready(self.supervisor, self.project / ".prefect", READY_SECONDS) is None:
            how = (
                "exited"
                if self.supervisor.poll() is not None
                else f"not ready in {READY_SECONDS} s"
            )
            raise RuntimeError(f"hhcast stack {how}:\n{self.output.read_text()}")


def serve_runs(stack: Stack) -> Served:
    """`hhcast run` through the stack, then a manual review from the train deployment, left
    Paused once notify has published its notice."""
    out = stack.hhcast("run", "--promotion", "never")
    (pipeline,) = RUN_LINK.findall(out)
    version = VERSION.search(out)
    with stack.client() as client:
        deployment = client.read_deployment_by_name("train/train")
        review = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"dataset_version": version and version.group(1), "promotion": "manual"},
        )
    stack.wait_for(str(review.id), "PAUSED")
    deadline = time.monotonic() + RUN_SECONDS
    while stack.latest_artifact("review-waiting") is None:  # the automation's notify run
        if time.monotonic() > deadline:
            raise RuntimeError("notify published no review-waiting notice")
        time.sleep(1)
    with stack.client() as client:
        names = {i: client.read_flow_run(i).name for i in (pipeline, review.id)}
    return Served(
        pipeline, names[pipeline], str(review.id), names[review.id], str(deployment.id),
        stack.latest_artifact("forecast-report") or "none",
        stack.latest_artifact("pipeline-summary") or "none",
    )  # fmt: skip
