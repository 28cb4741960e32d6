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
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

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
        log = open(self.home / f"{name}-{len(self.processes)}.log", "wb")  # noqa: SIM115
        with log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
            )  # fmt: skip
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Stop workers first (and the flow runs they started), then the server."""
        for process in reversed(self.processes):
            stop_process_tree(process)


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


def wait_for_health(api_url: str, server: subprocess.Popen, timeout: float, logs) -> None:
    """Wait until the server answers /api/health; fail with its log if it exits or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited with {server.returncode}\n{logs()}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"prefect server not healthy after {timeout:.0f} s\n{logs()}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_tree(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM a process, its group and every descendant (even in other sessions); then SIGKILL.

    Descendants are listed before any signal: once their parent is gone they are re-parented
    and could no longer be found.
    """
    pids = [process.pid, *descendants(process.pid)]
    _signal_all(process.pid, pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        process.poll()  # reap our own child so it does not linger as a zombie
        time.sleep(0.2)
    _signal_all(process.pid, [pid for pid in pids if _alive(pid)], signal.SIGKILL)
    process.wait(timeout=10)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.append(child)
        queue.extend(children.get(child, []))
    return found


def _signal_all(group: int, pids: list[int], sig: signal.Signals) -> None:
    for send, target in [(os.killpg, group), *((os.kill, pid) for pid in pids)]:
        with suppress(ProcessLookupError, PermissionError):
            send(target, sig)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited already
