"""Commands that start warm: while the stack runs, the next `hhcast` command is already imported.

A command's process spends 3 to 4 s importing Prefect, polars, DuckDB and hhcast's flows
before it does anything (more than the weekly cycle's own overhead may be), and then as much
again importing scikit-learn to load the champion. So the stack keeps one spare: a Python
process that has imported all of it and waits on a Unix socket in the stack's home
(`.prefect/warm.sock`). A command run in the project's folder hands itself to the spare: its
arguments, working folder, environment and terminal (its stdin, stdout and stderr, passed as
file descriptors), and the spare becomes that command's process. The command's own process
waits, passes Ctrl-C on, and exits with the spare's exit code. The stack starts the next
spare as soon as one is taken.

Each spare serves one command and exits, like a command's own process: nothing carries over
from one command to the next. A spare never forks (the threads polars and OpenBLAS start at
import do not survive a fork). A command whose Prefect or Python settings differ from the
spare's (another PREFECT_* or PYTHON* variable, another interpreter) is declined and runs in
its own process as before, and so does every command while no spare is waiting.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

SOCKET = "warm.sock"  # in the stack's home; bound by a relative path (sockets' paths are short)
STARTING = "warm.starting"  # the pid of a spare still importing
# What a spare imports before it listens: every command's flows.
IMPORTS = (
    "flows.cli",
    "flows.ingest",
    "flows.transform",
    "flows.train",
    "flows.retrain",
    "flows.monitor",
    "flows.forecast",
    "flows.report",
    "flows.pipeline",
)
# What it imports next while it listens, one module at a time, until a command comes: what
# loading a champion (2 to 3 s) and drawing a report import inside their runs.
# Smallest first: a command that comes meanwhile waits for the one module in progress.
IMPORTS_WHILE_WAITING = ("sklearn.linear_model", "sklearn.ensemble", "skops.io",
                         "tasks.reports.report")  # fmt: skip
WAIT_FOR_STARTING_SECONDS = 60
GRACE_SECONDS = 1.0  # a spare listens this long before it imports more
# Variables read when those modules are imported: a command with other values runs cold.
SAME_BEFORE_IMPORT = ("PREFECT_", "PYTHON")
RESPAWN_AFTER_FAILURE_SECONDS = 60
MESSAGE_BYTES = 1 << 20


# -- the command's side -------------------------------------------------------------------


def hand_over(argv: list[str], home: Path) -> int | None:
    """Run the command in the stack's waiting spare: its exit code, or None when there is no
    spare or it declined (the command then runs in this process)."""
    path = home / SOCKET
    if not path.exists() and not _wait_for_spare(home):
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
        request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ),
                   "python": sys.executable}  # fmt: skip
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        reply = _Lines(conn)
        taken = reply.next()
    except OSError:  # a spare that went away, or a closed stdin/stdout/stderr: run here
        conn.close()
        return None
    if taken is None or "pid" not in taken:
        conn.close()
        return None
    return _wait_for(taken["pid"], reply, conn)


def _wait_for_spare(home: Path) -> bool:
    """Wait for a spare still importing to listen; False if none is starting.

    It started importing before this command would, so it is ready sooner than the same
    imports here would be.
    """
    from flows.processes import alive

    try:
        pid = int((home / STARTING).read_text())
    except (OSError, ValueError):
        return False
    deadline = time.monotonic() + WAIT_FOR_STARTING_SECONDS
    while alive(pid) and time.monotonic() < deadline:
        if (home / SOCKET).exists():
            return True
        time.sleep(0.05)
    return False


def _wait_for(pid: int, reply: _Lines, conn: socket.socket) -> int:
    """Pass Ctrl-C, SIGTERM and SIGHUP on to the spare running the command; its exit code."""

    def pass_on(signum: int, frame: object) -> None:
        with suppress(ProcessLookupError):
            os.kill(pid, signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, pass_on)
    with conn:  # a signal passed on does not cut this wait short (PEP 475)
        message = reply.next()
    if message is not None and "exit" in message:
        return int(message["exit"])
    print(
        f"hhcast: the process running this command (pid {pid}, the stack's spare) ended "
        "without finishing it; it was killed or the stack stopped",
        file=sys.stderr,
    )
    return 1


class _Lines:
    """JSON messages, one per line, read from a socket."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.buffer = conn, b""

    def next(self) -> dict | None:
        while b"\n" not in self.buffer:
            chunk = self.conn.recv(MESSAGE_BYTES)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


# -- the spare's side ---------------------------------------------------------------------

_exit_code = 1  # the command's, once it has one; told to its process before this one exits
_client: socket.socket | None = None


def spare(home: Path) -> None:
    """Import what every command imports, wait for one, become its process and run it."""
    from flows.console import exit_without_teardown

    exit_without_teardown(lambda: _exit_code, then=_tell_exit_code)  # before anything else
    started = time.monotonic()
    for module in IMPORTS:
        __import__(module)
    own = _before_import(dict(os.environ))
    listener = _listen(home)
    print(f"spare {os.getpid()} ready in {time.monotonic() - started:.1f} s", flush=True)
    first = IMPORTS_WHILE_WAITING[0]
    for module in IMPORTS_WHILE_WAITING:
        # A command waiting for this spare to listen connects within a moment: it goes first.
        if select.select([listener], [], [], GRACE_SECONDS if module == first else 0)[0]:
            break  # a command is waiting: it imports the rest if it needs them
        __import__(module)
    while True:
        conn, _ = listener.accept()
        try:
            request, fds = _receive(conn)
        except (OSError, ValueError) as exc:  # a command that went away, or not hhcast
            print(f"ignored a connection: {exc}", flush=True)
            conn.close()
            continue
        why = _declined(request, own)
        if why is None:
            break
        print(f"declined a command ({why}): it runs in its own process", flush=True)
        for fd in fds:
            os.close(fd)
        with suppress(OSError), conn:
            _send(conn, {"declined": why})
    (home / SOCKET).unlink(missing_ok=True)  # taken: the stack starts the next spare
    listener.close()
    print(f"running hhcast {' '.join(request['argv'])} (pid {os.getpid()})", flush=True)
    _become(request, fds, conn)
    _run(request["argv"])


def _listen(home: Path) -> socket.socket:
    """The spare's socket, bound under another name and then renamed: a command finds a
    socket only once a spare listens on it."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    partial = home / f"{SOCKET}.{os.getpid()}"
    partial.unlink(missing_ok=True)
    listener.bind(str(partial))
    os.chmod(partial, 0o600)  # the stack's user only: a command runs with its rights
    listener.listen(4)
    partial.replace(home / SOCKET)
    starting = home / STARTING
    with suppress(OSError, ValueError):
        if int(starting.read_text()) == os.getpid():
            starting.unlink()
    return listener


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    message, fds, _, _ = socket.recv_fds(conn, MESSAGE_BYTES, 3)
    reply = _Lines(conn)
    reply.buffer = message
    request = reply.next()
    if request is None or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("no command and terminal in the message")
    return request, fds


def _before_import(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(SAME_BEFORE_IMPORT)}


def _declined(request: dict, own: dict[str, str]) -> str | None:
    """Why the spare cannot run the command as its own process would, or None."""
    if request.get("python") != sys.executable:
        return f"another Python: {request.get('python')}"
    theirs = _before_import(request.get("env", {}))
    differ = sorted(k for k in own.keys() | theirs.keys() if own.get(k) != theirs.get(k))
    if differ:
        return f"other values of {', '.join(differ)}"
    return None


def _become(request: dict, fds: list[int], conn: socket.socket) -> None:
    """Take the command's terminal, folder, environment and arguments; tell it this pid."""
    global _client
    for fd, std in zip(fds, (0, 1, 2), strict=True):
        os.dup2(fd, std)
        os.close(fd)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=stream.isatty())
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["hhcast", *request["argv"]]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupted)  # the stack stopping: an interrupted command
    from prefect.logging.configuration import setup_logging

    setup_logging(incremental=False)  # the console handlers on the command's terminal
    _client = conn
    _send(conn, {"pid": os.getpid()})


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(argv: list[str]) -> None:
    global _exit_code
    from flows.cli import main
    from flows.console import exit_code_of

    try:
        _exit_code = main(argv)
    except SystemExit as exc:  # argparse's --help and usage errors
        _exit_code = exit_code_of(exc)
    raise SystemExit(_exit_code)


def _tell_exit_code(code: int) -> None:
    if _client is not None:
        with suppress(OSError):  # the command's process is gone (killed): nobody to tell
            _send(_client, {"exit": code})


def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


# -- the stack's side ---------------------------------------------------------------------


class Spares:
    """The stack's spare: started when the stack is ready, replaced when a command takes it.

    Spares serving a command are kept until they exit, so that stopping the stack stops them
    too. One that exits before it listens is reported and tried again a minute later;
    meanwhile commands run in their own processes.
    """

    def __init__(self, env: dict[str, str], home: Path) -> None:
        self.env, self.home = env, home
        self.log = home / "warm.log"
        self.waiting: subprocess.Popen | None = None
        self.listened = False
        self.serving: list[subprocess.Popen] = []
        self.retry_at = 0.0

    def tick(self) -> None:
        """Start a spare where none waits; called every second by the stack's supervisor."""
        from flows.processes import start_logged

        self.serving = [p for p in self.serving if p.poll() is None]
        waiting = self.waiting
        if waiting is not None:
            listening = (self.home / SOCKET).exists()
            if waiting.poll() is None and (listening or not self.listened):
                self.listened = self.listened or listening
                return  # waiting for a command, or still importing
            if waiting.poll() is None or self.listened:
                self.serving.append(waiting)  # taken by a command (or done with it)
            else:  # died before it listened: say so, and try later
                (self.home / STARTING).unlink(missing_ok=True)
                print(
                    f"hhcast stack: the spare for warm commands exited ({waiting.returncode}) "
                    f"before it was ready; commands start cold. See {self.log}",
                    file=sys.stderr,
                )
                self.retry_at = time.monotonic() + RESPAWN_AFTER_FAILURE_SECONDS
            self.waiting = None
        if time.monotonic() < self.retry_at:
            return
        (self.home / SOCKET).unlink(missing_ok=True)  # a dead spare's
        self.waiting = start_logged(
            [sys.executable, "-m", "flows.warm", str(self.home)], self.env, Path.cwd(), self.log
        )
        (self.home / STARTING).write_text(str(self.waiting.pid))
        self.listened = False

    def stop(self) -> None:
        """Stop the waiting spare and the commands spares are running."""
        from flows.processes import stop_tree

        (self.home / SOCKET).unlink(missing_ok=True)
        (self.home / STARTING).unlink(missing_ok=True)
        for process in [*([self.waiting] if self.waiting else []), *self.serving]:
            if process.poll() is None:
                stop_tree(process.pid)


if __name__ == "__main__":
    spare(Path(sys.argv[1]))
