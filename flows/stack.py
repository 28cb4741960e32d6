"""`hhcast stack`: the whole local service in one command.

It starts a Prefect server on 127.0.0.1 with its home in `.prefect/`, creates the process
work pool, deploys everything in prefect.yaml (schedules and triggers included) and starts a
worker with this shell's environment, so the deployments read the same hhcast.yaml and
HHCAST_* settings as the `hhcast` commands run here. Ctrl-C (or `hhcast stack stop`) stops it
all. While it runs, `.prefect/stack.json` says where it is (flows/stack_state.py), and every
`hhcast` command run in this folder uses its API instead of starting Prefect's temporary one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from flows.processes import alive, port_is_free, start_logged, stop_tree, wait_for_health
from flows.stack_state import HOME, STATE_FILE, StackState, read_state, write_state
from flows.warm import Spares

DEFAULT_PORT = 4200
POOL = "hhcast"
SERVER_START_SECONDS = 180  # a server takes 20-60 s to start on a busy 2-core machine
STOP_WAIT_SECONDS = 30
PREFECT = [sys.executable, "-m", "prefect"]  # the venv's Prefect, whatever is on PATH
# The worker looks for new runs every 2 s (Prefect's default is 10): a click on Run starts.
WORKER_ENV = {"PREFECT_WORKER_QUERY_SECONDS": "2"}
ABANDONED = "the hhcast stack stopped while it ran (Ctrl-C or `hhcast stack stop`)"


def start(port: int = DEFAULT_PORT, home: Path = HOME) -> int:
    """Run the stack in the foreground until Ctrl-C or SIGTERM; return the exit code."""
    from flows.console import CONFIGURATION
    from hhcast.config import load_settings

    if not Path("prefect.yaml").is_file():
        print(
            f"hhcast stack: no prefect.yaml in {Path.cwd()}: run it from the project's folder",
            file=sys.stderr,
        )
        return CONFIGURATION
    running = read_state(home)
    if running:
        status = "is running" if running.ready else "is starting"
        print(f"hhcast stack {status} already (pid {running.pid}): {running.ui_url}")
        return 0
    if not port_is_free(port):
        print(
            f"hhcast stack: port {port} on 127.0.0.1 is taken by another program; pick "
            "another with --port",
            file=sys.stderr,
        )
        return CONFIGURATION
    settings = load_settings()  # a config mistake stops it before anything starts
    home.mkdir(parents=True, exist_ok=True)
    state = StackState(pid=os.getpid(), port=port, warehouse=str(settings.warehouse.path.resolve()))
    write_state(home, state)
    env = _environment(home, state.api_url)
    started = time.monotonic()
    processes: dict[str, subprocess.Popen] = {}
    spares: Spares | None = None
    signal.signal(signal.SIGTERM, _interrupt)  # `hhcast stack stop` stops it like Ctrl-C
    try:
        print(f"starting a Prefect server on {state.ui_url} (log {home / 'server.log'}) ...")
        processes["server"] = start_logged(
            [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env, Path.cwd(), home / "server.log",
        )  # fmt: skip
        wait_for_health(
            state.api_url, processes["server"], SERVER_START_SECONDS,
            logs=lambda: _tail(home / "server.log"),
        )  # fmt: skip
        # A command's environment once it uses the stack (flows/stack_state.use_running_stack)
        spares = Spares({**os.environ, "PREFECT_API_URL": state.api_url}, home)
        spares.tick()  # it imports while the deployments are made
        print(f"deploying prefect.yaml to the work pool {POOL!r} ...")
        _prefect(["work-pool", "create", POOL, "--type", "process", "--overwrite"], env, home)
        _prefect(["--no-prompt", "deploy", "--all"], env, home)
        processes["worker"] = start_logged(
            [*PREFECT, "worker", "start", "--pool", POOL], {**env, **WORKER_ENV},
            Path.cwd(), home / "worker.log",
        )  # fmt: skip
        _wait_for_worker(state.api_url, processes["worker"], home)
        write_state(home, replace(state, ready=True))
        _print_ready(state, settings, home, time.monotonic() - started)
        return _supervise(processes, home, spares)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:  # a process that would not start: its log says why
        print(f"hhcast stack: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stopping = time.monotonic()
        if spares is not None:
            spares.stop()
        if "worker" in processes:
            stop_tree(processes["worker"].pid)
            _crash_abandoned_runs(state.api_url)
        if "server" in processes:
            stop_tree(processes["server"].pid)
        (home / STATE_FILE).unlink(missing_ok=True)
        print(f"hhcast stack stopped in {time.monotonic() - stopping:.1f} s")


def stop(home: Path = HOME) -> int:
    """Stop the stack running from this folder (`hhcast stack stop`); wait until it is gone."""
    state = read_state(home)
    if state is None:
        print(f"hhcast stack: none is running here (no live stack in {home / STATE_FILE})")
        return 0
    started = time.monotonic()
    os.kill(state.pid, signal.SIGTERM)
    deadline = started + STOP_WAIT_SECONDS
    while alive(state.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(state.pid):  # stuck: take the whole tree down the hard way
        stop_tree(state.pid, grace=0)
        (home / STATE_FILE).unlink(missing_ok=True)
    print(f"stopped the hhcast stack at {state.ui_url} in {time.monotonic() - started:.1f} s")
    return 0


def status(home: Path = HOME) -> int:
    """Say whether a stack runs from this folder, and where (exit 0 if it does, 1 if not)."""
    state = read_state(home)
    if state is None:
        print("hhcast stack: not running (start it with `./dev stack`)")
        return 1
    doing = "running" if state.ready else "starting"
    print(f"hhcast stack {doing} (pid {state.pid}): {state.ui_url}")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _environment(home: Path, api_url: str) -> dict[str, str]:
    """The environment of the stack's processes: this shell's (its HHCAST_* settings reach the
    flow runs), with Prefect pointed at the stack's own home and API."""
    own = {"PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "PREFECT_HOME"}
    env = {k: v for k, v in os.environ.items() if k not in own}
    return {
        **env,
        "PREFECT_HOME": str(home.resolve()),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PWD": str(Path.cwd()),  # prefect.yaml's working directory is "{{ $PWD }}"
    }


def _prefect(args: list[str], env: dict[str, str], home: Path) -> None:
    """Run a `prefect` CLI command against the stack; its output goes to the stack's log."""
    done = subprocess.run([*PREFECT, *args], env=env, capture_output=True, text=True, timeout=600)
    with (home / "deploy.log").open("a", encoding="utf-8") as log:
        log.write(f"$ prefect {' '.join(args)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        raise RuntimeError(
            f"prefect {' '.join(args)} failed (exit {done.returncode}):\n"
            f"{_tail(home / 'deploy.log')}"
        )


def _wait_for_worker(api_url: str, worker: subprocess.Popen, home: Path) -> None:
    """Wait until the worker has registered with the pool (it then polls for runs)."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            log = _tail(home / "worker.log")
            raise RuntimeError(f"the worker exited with {worker.returncode}\n{log}")
        try:
            workers = _post(f"{api_url}/work_pools/{POOL}/workers/filter", {})
            if any(w.get("status") == "ONLINE" for w in workers):
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the worker did not come online\n{_tail(home / 'worker.log')}")


def _crash_abandoned_runs(api_url: str) -> None:
    """Mark Crashed the runs the stopped worker left Running, Pending or Paused: a flow run
    killed in the middle of a step cannot say so itself, and would show as running forever
    (a paused review's process is gone too: nothing would act on its answer)."""
    live = {"any_": ["PENDING", "RUNNING", "CANCELLING", "PAUSED"]}
    query = {"flow_runs": {"state": {"type": live}}, "work_pools": {"name": {"any_": [POOL]}}}
    try:
        runs = _post(f"{api_url}/flow_runs/filter", query)
        for run in runs:
            crashed = {"type": "CRASHED", "name": "Crashed", "message": ABANDONED}
            _post(f"{api_url}/flow_runs/{run['id']}/set_state", {"state": crashed, "force": True})
    except OSError:  # the server went first: nothing left to tell
        pass


def _post(url: str, body: dict) -> object:
    from urllib.request import Request, urlopen

    request = Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
        method="POST",
    )  # fmt: skip
    with urlopen(request, timeout=5) as answer:
        return json.load(answer)


def _supervise(processes: dict[str, subprocess.Popen], home: Path, spares: Spares) -> int:
    """Wait for Ctrl-C, keeping a spare for warm commands; if the server or the worker dies
    meanwhile, say so and stop the rest."""
    while True:
        spares.tick()
        for name, process in processes.items():
            if process.poll() is not None:
                log = home / f"{name}.log"
                print(
                    f"hhcast stack: the {name} stopped by itself (exit {process.returncode}); "
                    f"stopping the rest. The end of {log}:\n{_tail(log)}",
                    file=sys.stderr,
                )
                return 1
        time.sleep(1)


def _print_ready(state: StackState, settings, home: Path, seconds: float) -> None:
    landing = settings.landing
    empty = "://" not in landing and not any(p.is_file() for p in Path(landing).rglob("*"))
    lines = [
        f"hhcast stack is up ({seconds:.0f} s): Ctrl-C here stops it all, or "
        "`./dev hhcast stack stop` from another shell",
        f"  UI         {state.ui_url}",
        f"  API        {state.api_url} (hhcast commands run in this folder use it)",
        f"  worker     pool {POOL!r}; landing {landing}, warehouse {settings.warehouse}",
        f"  logs       {home}/server.log, {home}/worker.log",
        f"  first      open {state.ui_url}/deployments, click pipeline-daily, then Run > "
        "Quick run; follow it under Runs (its artifacts under Artifacts)",
    ]
    if empty:
        lines.append(
            f"  landing    {landing} has no exports yet: run `./dev demo` in another shell "
            "(it generates the sample there and runs the pipeline through this stack)"
        )
    print("\n".join(lines), flush=True)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({log} is missing)"
