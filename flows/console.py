"""What the `hhcast` command prints when something fails: one line to act on, the trace logged.

A failure a user can cause (a config mistake, S3 without credentials, a warehouse in a
read-only folder) is explained in a line or two with what to do, and the command exits with
its documented code. Prefect's console shows log lines without tracebacks; the traceback of
the failure stays in the flow run's log (the Prefect UI) and in `errors.log` under hhcast's
state folder, where an unexpected error's message points.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

NEEDS_A_PERSON = 1  # something needs attention; everything else still ran
CONFIGURATION = 2  # the command cannot run as configured (or the warehouse stayed locked)
INTERRUPTED = 130

EPHEMERAL_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
# Prefect's default (20 s) is shorter than its temporary API takes to start on a busy
# 2-core machine; set before Prefect reads its settings, and overridable like any setting.
EPHEMERAL_TIMEOUT_SECONDS = "180"


def prepare_environment() -> None:
    """Settings hhcast needs before Prefect is imported (the user's own values win)."""
    # Prefect's telemetry cannot reach the internet from most plants' networks.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault(EPHEMERAL_TIMEOUT_ENV, EPHEMERAL_TIMEOUT_SECONDS)


def explain(exc: BaseException) -> tuple[str, int]:
    """The message and exit code for a failure that ended a command."""
    from hhcast.config import ConfigError
    from tasks.ml.errors import ArtifactRefused, ChampionChanged, DatasetError, RegistryError
    from warehouse.connection import WarehouseBusy, WarehouseUnavailable
    from warehouse.replica import ReplicaError

    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", INTERRUPTED
    if isinstance(exc, ChampionChanged | ArtifactRefused):
        return str(exc), NEEDS_A_PERSON
    if isinstance(exc, ConfigError | WarehouseBusy | WarehouseUnavailable | DatasetError):
        return str(exc), CONFIGURATION
    if isinstance(exc, RegistryError | FileNotFoundError | ReplicaError):
        return str(exc), CONFIGURATION
    s3 = _explain_s3(exc)
    if s3:
        return s3, CONFIGURATION
    if isinstance(exc, OSError) and exc.filename:
        return (
            f"{exc.filename}: {exc.strerror or exc}; check the path in hhcast.yaml (or its "
            "HHCAST_* variable) exists and is writable by whoever runs hhcast",
            CONFIGURATION,
        )
    if isinstance(exc, RuntimeError) and "ephemeral Prefect API server" in str(exc):
        waited = os.environ.get(EPHEMERAL_TIMEOUT_ENV, EPHEMERAL_TIMEOUT_SECONDS)
        return (
            f"Prefect's temporary API did not start within {waited} s (a busy machine?): "
            "start `./dev stack` in another shell (hhcast commands run here then use it), "
            f"raise {EPHEMERAL_TIMEOUT_ENV}, or point PREFECT_API_URL at a Prefect server",
            CONFIGURATION,
        )
    where = log_traceback(exc)
    return (
        f"hhcast failed unexpectedly ({type(exc).__name__}: {_first_line(exc)}); the traceback "
        f"is in {where}. Please report it with that file",
        NEEDS_A_PERSON,
    )


def _explain_s3(exc: BaseException) -> str | None:
    """A message for S3's client errors (botocore), which are not OSErrors."""
    try:
        from botocore import exceptions as boto
    except ImportError:  # no S3 support installed: no S3 error either
        return None
    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        return (
            f"S3 refused: {exc}. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
            "AWS_PROFILE) in the environment hhcast runs in; credentials never go in hhcast.yaml"
        )
    if isinstance(exc, boto.EndpointConnectionError):
        return (
            f"S3: {exc}. Check s3.endpoint_url in hhcast.yaml (HHCAST_S3__ENDPOINT_URL) and "
            "that the server is running and reachable"
        )
    if isinstance(exc, boto.BotoCoreError):
        return f"S3: {exc}. Check the S3 settings (s3.endpoint_url, AWS_* variables)"
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else "no message"


def state_dir() -> Path:
    """Where hhcast keeps what a person may need after a run: $XDG_STATE_HOME/hhcast."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "hhcast"


def log_traceback(exc: BaseException) -> str:
    """Append the failure's traceback to errors.log; return where it went."""
    text = "".join(traceback.format_exception(exc))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    try:
        folder = state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "errors.log"
        with path.open("a", encoding="utf-8") as log:
            log.write(f"--- {stamp} hhcast {' '.join(sys.argv[1:])}\n{text}\n")
        return str(path)
    except OSError:  # nowhere to write it: the log stream is the last resort
        logging.getLogger("hhcast").error("hhcast failed:\n%s", text)
        return "the log above"


class _WithoutTraceback(logging.Formatter):
    """Format a record as the wrapped formatter would, minus its traceback and stack."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        if not (record.exc_info or record.exc_text or record.stack_info):
            return self.inner.format(record)
        bare = logging.makeLogRecord(record.__dict__)
        bare.exc_info = bare.exc_text = bare.stack_info = None
        return self.inner.format(bare)


def hide_tracebacks_on_console() -> None:
    """Prefect's console handler prints log lines without tracebacks from here on.

    The flow run's log on the Prefect API keeps them: only the terminal is spared.
    """
    import prefect  # noqa: F401 (importing Prefect sets its logging up)
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not isinstance(
            handler.formatter, _WithoutTraceback
        ):
            handler.setFormatter(_WithoutTraceback(handler.formatter or logging.Formatter()))


@contextmanager
def in_process_run() -> Iterator[None]:
    """The settings of a flow run in the `hhcast` command's own process.

    Tracebacks stay off the console (above), and the run sends no heartbeats. A heartbeat
    tells the server that a run's process is still alive; here the run is the command, and
    the person who started it sees it end. Prefect 3.8's heartbeat thread sleeps in 1 s steps
    and each flow joins it when it ends, which cost up to 1 s for the run and for each of its
    subflows. Deployment runs keep theirs (their worker process may die unseen).
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    hide_tracebacks_on_console()
    # An environment variable cannot say "none" (it must be a number of seconds >= 30).
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def exit_code_of(exc: SystemExit) -> int:
    """The process exit code Python gives a SystemExit: its int, 0 for None, else 1."""
    return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1


def exit_without_teardown(
    code: Callable[[], int], then: Callable[[int], None] | None = None
) -> None:
    """End the `hhcast` process the way Python does, minus freeing every module's objects.

    Call it first thing in the executable: it registers an exit function that runs after
    every other one (they run last registered, first), when Python has already waited for
    the process's threads and run Prefect's exit functions, which send its last logs and
    events to the API. What Python would do next frees the objects of every module loaded,
    one by one: 1.0-1.5 s once scikit-learn is imported, which a finished command has no use
    for (every file and warehouse connection hhcast opens is closed by then). Flushing the
    logging handlers and the console first, it leaves with `code()`, the command's exit code,
    once `then(code)` has told whoever waits for it (flows/warm.py).
    """

    def leave() -> None:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):  # a closed pipe or stream: nothing to say
                stream.flush()
        exit_code = code()
        if then is not None:
            then(exit_code)
        os._exit(exit_code)

    atexit.register(leave)
