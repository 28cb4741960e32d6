"""Processes the stack starts and stops as one: each in its own session, logged, stopped as a tree.

A Prefect worker starts each flow run in a session of its own, so signalling the worker's
process group misses them: a tree is found from /proc (Linux) before any signal is sent, since
an orphan is re-parented and could no longer be found. SIGTERM first, SIGKILL after a short
grace: Prefect's worker answers its first SIGTERM with a graceful shutdown that waits for its
flow runs, which is what a person pressing Ctrl-C does not want to wait for.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

GRACE_SECONDS = 3.0


def start_logged(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """Start `command` in a session of its own (Ctrl-C in the terminal does not reach it),
    its output appended to `log`."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip


def wait_for_health(
    api_url: str, process: subprocess.Popen, timeout: float, logs: Callable[[], str]
) -> None:
    """Wait until a Prefect server answers `{api_url}/health`; fail with its log if it exits
    or stays silent for `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited with {process.returncode}\n{logs()}")
        if answers(f"{api_url}/health"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"prefect server not healthy after {timeout:.0f} s\n{logs()}")


def answers(url: str, timeout: float = 2) -> bool:
    """Whether an HTTP GET of `url` returns 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status == 200
    except OSError:
        return False


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on `host:port`. Connections of a server just stopped, waiting
    out TIME_WAIT, do not count: the next server binds the port as this probe does."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_tree(pid: int, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM a process, its group and every descendant (in any session); SIGKILL whatever
    is left after `grace` seconds. Returns once all of them are gone (or zombies of a parent
    that is not ours to reap)."""
    pids = [pid, *descendants(pid)]
    _signal_all(pid, pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        _reap(pid)
        time.sleep(0.1)
    left = [p for p in pids if alive(p)]
    if left:
        _signal_all(pid, left, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in left):
            _reap(pid)
            time.sleep(0.05)
    _reap(pid)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc."""
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


def alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie has exited already)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal_all(group: int, pids: list[int], sig: signal.Signals) -> None:
    """Send `sig` once to every process: to the group, then to those outside it (a worker's
    flow runs). Twice would not be harmless: Prefect's worker answers a second SIGTERM by
    killing itself at once."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) != group:
                os.kill(pid, sig)


def _reap(pid: int) -> None:
    """Collect our own child's exit status, so that it does not linger as a zombie."""
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
