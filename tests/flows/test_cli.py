"""Commands fail with a message and their documented exit code, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest

from flows.cli import main

ROW = ["MECHANIC", "PR-GAA", "B737NG", "GRU", date(2019, 3, 7), 32, "GEAR", "1:30", "1:45"]
HHCAST = str(Path(sys.executable).parent / "hhcast")
# A folder no one may create anything in, root included (tests may run as root, for whom
# permission bits do not stop a write): sysfs refuses new entries to everyone.
UNWRITABLE = Path("/sys/hhcast-tests")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """`hhcast ...` as a user runs it: its own process, its own temporary Prefect API."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AWS_"))}
    return subprocess.run(
        [HHCAST, *args], env={**clean, **env}, cwd=cwd, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


def test_a_missing_config_file_named_by_hhcast_config_is_an_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HHCAST_CONFIG", str(tmp_path / "nowhere.yaml"))
    assert main(["models"]) == 2
    err = capsys.readouterr().err
    assert "nowhere.yaml: no such config file (named by $HHCAST_CONFIG)" in err


def test_rollback_on_a_missing_warehouse_says_so_and_creates_nothing(env, paths, capsys):
    assert main(["rollback"]) == 2
    assert "does not exist yet: there is no champion to roll back" in capsys.readouterr().err
    assert not paths["warehouse"].exists()
    assert not paths["warehouse"].parent.exists()


def test_read_only_commands_never_create_the_warehouse(env, paths, capsys):
    assert main(["models"]) == 2
    assert main(["sql", "select 1"]) == 2
    err = capsys.readouterr().err
    assert "does not exist yet" in err
    assert "no replica" not in err  # one line: what to run first
    assert not paths["warehouse"].parent.exists()


def test_generate_before_the_presets_first_day_is_a_message(tmp_path, capsys):
    args = ["generate", "--out", str(tmp_path), "--preset", "small", "--start", "1990-01-01"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "hhcast generate: range 1990-01-01.." in err
    assert "pick --start/--end inside it" in err


@pytest.fixture
def hhcast_cli(prefect_harness, env, tmp_path):
    """Run `hhcast ...` in its own process against the session's Prefect API, as a user would
    (a real terminal's stderr; no temporary API start-up to pay)."""
    from prefect.settings import PREFECT_API_URL

    base = {**env, "PREFECT_API_URL": PREFECT_API_URL.value(), "XDG_STATE_HOME": str(tmp_path)}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        done = _cli(list(args), {**base, **extra}, tmp_path)
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done

    return run


def test_a_warehouse_in_a_folder_no_one_may_write_is_a_message(hhcast_cli):
    done = hhcast_cli("ingest", HHCAST_WAREHOUSE=str(UNWRITABLE / "hhcast.duckdb"))
    assert done.returncode == 2
    assert f"warehouse {UNWRITABLE}/hhcast.duckdb: cannot create its folder" in done.stderr
    assert "point HHCAST_WAREHOUSE" in done.stderr


def test_a_warehouse_whose_parent_is_a_file_is_a_message(hhcast_cli, paths):
    parent = paths["landing"].parent / "not-a-folder"
    parent.write_text("a file")
    done = hhcast_cli("transform", HHCAST_WAREHOUSE=str(parent / "hhcast.duckdb"))
    assert done.returncode == 2
    assert f"cannot create its folder {parent}" in done.stderr


def test_a_read_only_lake_fails_at_once_with_a_message(hhcast_cli, paths, events_xlsx):
    events_xlsx(paths["landing"] / "e.xlsx", [ROW])
    done = hhcast_cli("ingest", HHCAST_LAKE=str(UNWRITABLE / "lake"))
    assert done.returncode == 2
    assert f"hhcast: {UNWRITABLE}: Operation not permitted" in done.stderr
    assert "writable" in done.stderr
    assert "- Retry 1/3 will start" not in done.stderr  # a read-only lake stays read-only


def test_an_s3_endpoint_with_nothing_listening_is_a_message(hhcast_cli):
    done = hhcast_cli(
        "ingest",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        HHCAST_S3__ENDPOINT_URL=f"http://127.0.0.1:{_free_port()}",
        HHCAST_LANDING="s3://plant/landing",
    )
    assert done.returncode == 2
    assert "Could not connect to the endpoint URL" in done.stderr
    assert "HHCAST_S3__ENDPOINT_URL" in done.stderr


def test_a_flow_waits_for_an_analysts_session_as_long_as_the_config_says(
    hhcast_cli, paths, events_xlsx, tmp_path
):
    events_xlsx(paths["landing"] / "e.xlsx", [ROW])
    assert hhcast_cli("ingest").returncode == 0
    ready = tmp_path / "ready"
    analyst = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, pathlib, duckdb
        con = duckdb.connect({str(paths["warehouse"])!r}, read_only=True)
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(120)
    """)])  # fmt: skip
    try:
        while not ready.exists():
            assert analyst.poll() is None
            time.sleep(0.05)
        events_xlsx(paths["landing"] / "f.xlsx", [ROW])
        done = hhcast_cli("ingest", HHCAST_WAREHOUSE__WRITER_LOCK_TIMEOUT_SECONDS="2")
    finally:
        analyst.kill()
        analyst.wait()
    assert done.returncode == 2
    assert "held open by" in done.stderr and f"(pid {analyst.pid})" in done.stderr
    assert f"(pid {analyst.pid}) for 2 s" in done.stderr


@pytest.mark.slow
def test_s3_without_credentials_prints_one_line_and_no_traceback(paths, tmp_path):
    done = _cli(
        ["ingest"],
        {
            "HHCAST_LANDING": "s3://plant/landing",
            "HHCAST_LAKE": str(paths["lake"]),
            "HHCAST_WAREHOUSE": str(paths["warehouse"]),
            "HHCAST_S3__ENDPOINT_URL": f"http://127.0.0.1:{_free_port()}",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
        },
        tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    hhcast_lines = [line for line in done.stderr.splitlines() if line.startswith("hhcast:")]
    assert len(hhcast_lines) == 1
    assert "S3 refused: Unable to locate credentials" in hhcast_lines[0]
    assert "AWS_ACCESS_KEY_ID" in hhcast_lines[0]


@pytest.mark.slow
def test_a_temporary_api_that_does_not_start_in_time_is_one_line(paths, tmp_path):
    done = _cli(
        ["ingest"],
        {
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "HHCAST_LANDING": str(paths["landing"]),
            "HHCAST_LAKE": str(paths["lake"]),
            "HHCAST_WAREHOUSE": str(paths["warehouse"]),
        },
        tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "Prefect's temporary API did not start within 1 s" in done.stderr
    assert "PREFECT_API_URL" in done.stderr
    assert "start `./dev stack` in another shell" in done.stderr


def test_the_temporary_api_gets_a_start_up_timeout_that_survives_load(tmp_path):
    probe = (
        "import flows.cli\n"
        "from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as s\n"
        "print(s.value())\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    default = subprocess.run(
        [sys.executable, "-c", probe], env=clean, capture_output=True, text=True, check=True
    )
    assert float(default.stdout) >= 120  # Prefect's own 20 s fails on a busy 2-core machine
    chosen = subprocess.run(
        [sys.executable, "-c", probe],
        env={**clean, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "45"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert float(chosen.stdout) == 45


def test_an_unexpected_error_is_one_line_pointing_at_the_logged_traceback(
    monkeypatch, tmp_path, capsys
):
    from flows import cli

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_models", broken)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "hhcast failed unexpectedly (ZeroDivisionError: a bug)" in err
    logged = (tmp_path / "hhcast" / "errors.log").read_text()
    assert "Traceback" in logged and "ZeroDivisionError: a bug" in logged


def test_the_console_shows_a_log_line_without_its_traceback():
    import logging

    from flows.console import _WithoutTraceback

    try:
        raise ValueError("deep inside")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "it failed", None, None)
        record.exc_info = sys.exc_info()
    plain = logging.Formatter("%(levelname)s %(message)s")
    assert "Traceback" in plain.format(logging.makeLogRecord(record.__dict__))
    assert _WithoutTraceback(plain).format(record) == "ERROR it failed"
    assert record.exc_info is not None  # other handlers (Prefect's API log) still get it


def test_a_flow_run_in_the_commands_own_process_sends_no_heartbeats(prefect_harness):
    from prefect import flow
    from prefect.settings import get_current_settings

    from flows.console import in_process_run

    @flow
    def heartbeat_seconds() -> int | None:
        return get_current_settings().flows.heartbeat_frequency  # what Prefect's engine reads

    with in_process_run():
        assert heartbeat_seconds() is None
    assert heartbeat_seconds() == get_current_settings().flows.heartbeat_frequency is not None


EXITING = """
import atexit, logging, sys
from flows.console import exit_without_teardown

class TornDown:
    def __del__(self):
        print("torn down", flush=True)

kept = TornDown()  # freed when Python tears its modules down
if sys.argv[1] == "skip":
    exit_without_teardown(lambda: 3)
atexit.register(lambda: print("a later exit function ran"))  # Prefect's register after
logging.basicConfig(filename="exit.log", level=logging.INFO)
logging.info("logged before the exit")
sys.stdout.write("written, never flushed")  # a pipe's buffer
raise SystemExit(0)
"""


def test_the_executable_exits_with_its_code_after_every_exit_function_minus_the_teardown(
    tmp_path,
):
    def exiting(how: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", EXITING, how], cwd=tmp_path, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )  # fmt: skip

    python = exiting("python")  # the control: Python's own exit frees the module's object
    assert python.returncode == 0 and "torn down" in python.stdout, python.stderr
    skipped = exiting("skip")
    assert skipped.returncode == 3, skipped.stderr
    assert "a later exit function ran" in skipped.stdout
    assert "written, never flushed" in skipped.stdout
    assert "torn down" not in skipped.stdout
    assert "logged before the exit" in (tmp_path / "exit.log").read_text()
    # The executable keeps the exit codes of argparse and of a command.
    assert subprocess.run([HHCAST, "--help"], capture_output=True).returncode == 0
    assert subprocess.run([HHCAST, "no-such-command"], capture_output=True).returncode == 2
    missing = subprocess.run(
        [HHCAST, "sql", "select 1"], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "HHCAST_WAREHOUSE": str(tmp_path / "none.duckdb")},
    )  # fmt: skip
    assert missing.returncode == 2 and "does not exist yet" in missing.stderr


def _warehouse_with_a_replica_behind(settings) -> None:
    """A warehouse of 3 events whose replica was published at 2: the replica is behind."""
    from warehouse.connection import connect, ensure_schema, writing
    from warehouse.replica import publish

    with writing(settings.warehouse, timeout=30), connect(settings.warehouse) as con:
        ensure_schema(con)  # ml.models, for `hhcast models`
        con.execute("create table events as select range as n from range(2)")
        publish(con, settings.warehouse, published_by="ingest")
        con.execute("insert into events values (2)")


def test_sql_reads_the_replica_and_says_how_far_behind_it_is_live_reads_the_warehouse(
    settings, capsys
):
    _warehouse_with_a_replica_behind(settings)
    assert main(["sql", "select count(*) as events from events"]) == 0
    out, err = capsys.readouterr()
    assert "│ 2      │" in out
    assert err.count("\n") == 1
    assert "hhcast sql: the replica (ingest, " in err
    assert "older than the warehouse's last commit" in err and "--live" in err

    assert main(["sql", "--live", "select count(*) as events from events"]) == 0
    out, err = capsys.readouterr()
    assert "│ 3      │" in out and err == ""


def test_sql_on_an_up_to_date_replica_says_nothing(settings, capsys):
    from warehouse.connection import connect, writing
    from warehouse.replica import publish

    with writing(settings.warehouse, timeout=30), connect(settings.warehouse) as con:
        con.execute("create table events as select range as n from range(4)")
        publish(con, settings.warehouse, published_by="transform")
    assert main(["sql", "select published_by, count(*) as events from meta.replica, events "
                 "group by all"]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    assert "│ transform    ┆ 4      │" in out and err == ""


def test_sql_without_a_replica_reads_the_warehouse_and_says_so(settings, capsys):
    from warehouse.connection import connect

    with connect(settings.warehouse) as con:
        con.execute("create table events as select range as n from range(5)")
    assert main(["sql", "select count(*) as events from events"]) == 0
    out, err = capsys.readouterr()
    assert "│ 5      │" in out
    assert err == (
        f"hhcast sql: no replica at {settings.warehouse.replica_path} yet (each flow publishes "
        f"it when it finishes): reading the live warehouse {settings.warehouse.path}\n"
    )


def test_sql_answers_from_the_replica_while_a_flow_holds_the_warehouse(settings, capsys, tmp_path):
    _warehouse_with_a_replica_behind(settings)
    ready, release = tmp_path / "ready", tmp_path / "release"
    flow = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import pathlib, time
        from warehouse.connection import connect, writing
        path = {str(settings.warehouse)!r}
        with writing(path, timeout=30), connect(path) as con:
            con.execute("insert into events values (3)")
            pathlib.Path({str(ready)!r}).touch()
            for _ in range(2400):
                if pathlib.Path({str(release)!r}).exists():
                    break
                time.sleep(0.05)
    """)])  # fmt: skip
    try:
        while not ready.exists():
            assert flow.poll() is None, "the writing process did not start"
            time.sleep(0.05)
        assert main(["sql", "select count(*) as events from events"]) == 0
        sql_out, sql_err = capsys.readouterr()
        assert main(["models"]) == 0  # the registry too, from the replica
        assert flow.poll() is None  # answered while the flow still held the warehouse
    finally:
        release.touch()
        flow.wait(timeout=60)
    assert "│ 2      │" in sql_out and "older than the warehouse's last commit" in sql_err
    out, err = capsys.readouterr()
    assert "model_id" in out and "hhcast models: the replica (ingest, " in err


def test_sql_on_a_replica_another_warehouse_published_says_so(settings, capsys):
    from hhcast.config import load_settings
    from warehouse.connection import connect
    from warehouse.replica import publish

    other = load_settings(
        env={"HHCAST_WAREHOUSE": str(settings.warehouse.path.parent / "b.duckdb")}
    )
    with connect(other.warehouse) as con:
        con.execute("create table events as select 1 as n")
        publish(con, other.warehouse, published_by="ingest")
    with connect(settings.warehouse) as con:
        con.execute("create table events as select 1 as n")
    assert main(["sql", "select count(*) from events"]) == 0
    err = capsys.readouterr().err
    assert f"was published from {other.warehouse.path.resolve()}, not from" in err
    assert "give each warehouse its own warehouse.replica" in err


def test_a_replica_that_cannot_be_written_ends_a_flow_with_its_message(env, paths, monkeypatch):
    from flows.console import explain
    from hhcast.config import load_settings
    from warehouse.connection import connect
    from warehouse.replica import ReplicaError, publish

    monkeypatch.setenv("HHCAST_WAREHOUSE__REPLICA", str(UNWRITABLE / "hhcast_read.duckdb"))
    warehouse = load_settings().warehouse
    with connect(warehouse) as con, pytest.raises(ReplicaError) as caught:
        publish(con, warehouse, published_by="ingest")
    message, code = explain(caught.value)
    assert code == 2
    assert f"replica {UNWRITABLE}/hhcast_read.duckdb: cannot write it in" in message
