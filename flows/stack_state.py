"""Where a running `hhcast stack` is, and pointing a command's Prefect at it.

The stack records its pid and port in `.prefect/stack.json` once started; a command run in the
same folder reads it before Prefect is imported. A file whose process is gone is removed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flows.processes import alive

HOME = Path(".prefect")  # the stack's PREFECT_HOME (database, logs, state), gitignored
STATE_FILE = "stack.json"


@dataclass(frozen=True)
class StackState:
    """Where a running stack is: the supervising `hhcast stack` process and its server."""

    pid: int
    port: int
    ready: bool = False  # server healthy, deployments made, worker polling
    warehouse: str | None = None  # the DuckDB file its worker's runs write (absolute)

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"


def read_state(home: Path | None = None) -> StackState | None:
    """The running stack recorded in `home` (.prefect); a state file left by a dead stack is
    removed."""
    path = (home or HOME) / STATE_FILE
    try:
        state = StackState(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):  # none, or a torn or foreign file
        return None
    if alive(state.pid):
        return state
    path.unlink(missing_ok=True)
    return None


def wait_until_ready(supervisor: subprocess.Popen, home: Path, seconds: float) -> StackState | None:
    """The state a `hhcast stack` started as `supervisor` records in `home` once it is ready;
    None when the process exits first or `seconds` pass (its log says why)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and supervisor.poll() is None:
        state = read_state(home)
        if state is not None and state.pid == supervisor.pid and state.ready:
            return state
        time.sleep(0.5)
    return None


def use_running_stack(home: Path | None = None) -> StackState | None:
    """Point Prefect at the running stack's API (call before Prefect is imported).

    A PREFECT_API_URL already in the environment is the user's choice and wins; without a
    ready stack, nothing changes and Prefect starts its temporary API as before.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    state = read_state(home)
    if state is None:
        return None
    if not state.ready:
        print(
            f"hhcast: the stack at {state.ui_url} is still starting; this command uses "
            "Prefect's temporary API",
            file=sys.stderr,
        )
        return None
    os.environ["PREFECT_API_URL"] = state.api_url
    return state


def run_link(flow_run_id: object) -> str | None:
    """The flow run's page in the UI of the server this process uses, if it has one."""
    from prefect.settings import get_current_settings

    ui_url = get_current_settings().ui_url
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}" if ui_url else None


def write_state(home: Path, state: StackState) -> None:
    """Record the stack in one step: a reader sees the old file or the new, never half."""
    partial = home / f"{STATE_FILE}.partial"
    partial.write_text(json.dumps(asdict(state)) + "\n", encoding="utf-8")
    partial.replace(home / STATE_FILE)
