"""A real local Prefect stack for tests: a server, the hhcast work pool, its deployments, a worker.

The stack runs as documented in prefect.yaml and the README, on a free loopback port with its
own PREFECT_HOME, so flow runs go through a real worker and their own processes. Everything it
starts is stopped on exit, the flow-run processes a worker spawned (in sessions of their own)
included. Its logs stay in the stack's folder and are quoted when a run ends unexpectedly.

    with prefect_stack(tmp_path) as stack:
        stack.deploy()
        stack.start_worker({"HHCAST_WAREHOUSE": ...})
        run_id = stack.run_deployment("train/train", {"promotion": "manual"})
        stack.wait_for_state(run_id, {"PAUSED"})
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from flows.processes import free_port, start_logged, stop_tree, wait_for_health

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).parent / "prefect")
POOL = "hhcast"

# A Prefect process costs seconds to import and start on a busy machine: generous limits.
STACK_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_WORKER_QUERY_SECONDS": "2",  # the worker picks a new run up within 2 s
}
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass
class PrefectStack:
    """A running Prefect server (and workers) for a test, and how to reach it."""

    home: Path
    api_url: str
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run the `prefect` CLI against this server from the repository root; fail loudly."""
        done = subprocess.run(
            [PREFECT, "--no-prompt", *args],
            env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done

    def deploy(self, *names: str) -> None:
        """Create the process work pool and deploy prefect.yaml (all, or the named ones)."""
        self.cli("work-pool", "create", POOL, "--type", "process", "--overwrite")
        selection = [arg for name in names for arg in ("--name", name)] or ["--all"]
        self.cli("deploy", *selection)

    def start_worker(self, env: dict[str, str] | None = None) -> subprocess.Popen:
        """A process worker polling the hhcast pool; `env` reaches the flow runs it starts."""
        return self._start(
            "worker", [PREFECT, "worker", "start", "--pool", POOL], {**self.env, **(env or {})}
        )

    @contextmanager
    def client(self):
        """A synchronous Prefect client of this server (and Prefect calls in the block use it)."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api_url}), get_client(sync_client=True) as c:
            yield c

    def run_deployment(
        self, name: str, parameters: dict | None = None, env: dict[str, str] | None = None
    ) -> UUID:
        """Start a run of a deployment ("flow/deployment") the way the UI's Run button does,
        with `env` added to the worker's environment for this run only (job variables)."""
        with self.client() as client:
            deployment = client.read_deployment_by_name(name)
            run = client.create_flow_run_from_deployment(
                deployment.id, parameters=parameters, job_variables={"env": env} if env else None
            )
        return run.id

    def state(self, run_id: UUID):
        """The run's current state."""
        with self.client() as client:
            return client.read_flow_run(run_id).state

    def wait_for_state(
        self, run_id: UUID, wanted: set[str], timeout: float = 600, passing: str | None = None
    ):
        """Wait until the run is in one of the `wanted` state types (e.g. {"PAUSED"}).

        A run that ends in another state, or takes longer, fails the test with its state
        message and the end of the worker's log; a final state whose message holds `passing`
        is taken as one the run may still leave (the server's verdict on an expired pause).
        """
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(run_id)
            if state is not None and state.type.value in wanted:
                return state
            transient = passing is not None and passing in (state.message or "") if state else False
            if state is not None and state.type.value in TERMINAL and not transient:
                raise AssertionError(
                    f"run {run_id} ended {state.name}: {state.message}\n{self.logs()}"
                )
            if time.monotonic() > deadline:
                name = state.name if state else "no state"
                raise AssertionError(
                    f"run {run_id} still {name} after {timeout:.0f} s\n{self.logs()}"
                )
            time.sleep(1)

    def logs(self, lines: int = 60) -> str:
        """The last lines of every log the stack wrote (server, workers)."""
        parts = []
        for log in sorted(self.home.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts)

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.home / f"{name}-{len(self.processes)}.log"
        process = start_logged(command, env, ROOT, log)  # its own session, stopped as a tree
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Stop workers first (and the flow runs they started), then the server."""
        for process in reversed(self.processes):
            stop_tree(process.pid)


@contextmanager
def prefect_stack(folder: Path, *, scheduler: bool = False) -> Iterator[PrefectStack]:
    """Start a Prefect server on a free loopback port with its home in `folder`; stop it all after.

    The scheduler is off unless asked for: prefect.yaml's daily schedule would otherwise start
    pipeline runs of its own beside a test's.
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HHCAST_"))}
    env = {
        **clean, **STACK_ENV, "PREFECT_HOME": str(folder), "PREFECT_API_URL": api_url,
        "XDG_CACHE_HOME": str(folder / "cache"),  # hhcast's parsed-SQL cache, not the user's
    }  # fmt: skip
    stack = PrefectStack(folder, api_url, env)
    command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    if not scheduler:
        command.append("--no-scheduler")
    try:
        server = stack._start("server", command, env)
        wait_for_health(api_url, server, timeout=180, logs=stack.logs)
        yield stack
    finally:
        stack.stop()
