"""Warm commands (flows/warm.py): a spare process that imported everything runs the next
command in its place, on the command's own terminal, folder and environment, with its exit
code and its Ctrl-C; a command it cannot run as its own process would runs cold."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import warm
from flows.processes import stop_tree
from flows.scratch import scratch_project
from warehouse.connection import connect

HHCAST = str(Path(sys.executable).parent / "hhcast")
READY_SECONDS = 180  # a spare imports for 4-10 s, more on a loaded machine


@pytest.fixture
def project(tmp_path, prefect_harness) -> tuple[Path, dict[str, str]]:
    """A project whose `.prefect/` says a stack is ready at the session's Prefect API, and the
    environment its commands run in."""
    from prefect.settings import get_current_settings

    api_url = get_current_settings().api.url  # http://127.0.0.1:<port>/api
    port = int(api_url.rsplit(":", 1)[1].split("/")[0])
    (tmp_path / "landing").mkdir()
    project, env = scratch_project(
        tmp_path,
        HHCAST_LANDING=str(tmp_path / "landing"),
        HHCAST_LAKE=str(tmp_path / "lake"),
        HHCAST_WAREHOUSE=str(tmp_path / "warehouse" / "hhcast.duckdb"),
    )
    home = project / ".prefect"
    home.mkdir()
    state = {"pid": os.getpid(), "port": port, "ready": True}  # this test stands for it
    (home / "stack.json").write_text(json.dumps(state))
    return project, env


def start_spare(project: Path, env: dict[str, str]) -> subprocess.Popen:
    """A spare as the stack starts it, once it listens."""
    home = project / ".prefect"
    api_url = f"http://127.0.0.1:{json.loads((home / 'stack.json').read_text())['port']}/api"
    with (home / "warm.log").open("ab") as log:
        spare = subprocess.Popen(
            [sys.executable, "-m", "flows.warm", str(home)], cwd=project,
            env={**env, "PREFECT_API_URL": api_url}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + READY_SECONDS
    while not (home / warm.SOCKET).exists():
        assert spare.poll() is None, (home / "warm.log").read_text()
        assert time.monotonic() < deadline, "the spare did not listen"
        time.sleep(0.1)
    return spare


def hhcast(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([HHCAST, *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def warm_log(project: Path) -> str:
    return (project / ".prefect" / "warm.log").read_text()


@pytest.fixture
def warehouse(project) -> Path:
    """A warehouse with one table, events(n)."""
    _, env = project
    path = Path(env["HHCAST_WAREHOUSE"])
    path.parent.mkdir(parents=True)
    with connect(path) as con:
        con.execute("create table events as select range as n from range(3)")
    return path


def test_a_command_runs_in_the_spare_on_its_own_terminal_folder_and_environment(project):
    root, env = project
    spare = start_spare(root, env)
    try:
        done = hhcast(root, env, "ingest")  # a flow run, on the stack's API
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"running hhcast ingest (pid {spare.pid})" in warm_log(root)
        assert spare.wait(timeout=60) == 0  # one command per spare: it is that command
    finally:
        stop_tree(spare.pid)
    # Its output reached the command's own stdout; its settings were the command's own.
    assert "run: http://127.0.0.1:" in done.stdout and "/runs/flow-run/" in done.stdout
    assert "0 files (none)" in done.stdout, done.stdout
    assert Path(env["HHCAST_WAREHOUSE"]).exists()  # HHCAST_WAREHOUSE, from the command's env
    assert not (root / ".prefect" / warm.SOCKET).exists()  # taken: the stack starts another


def test_the_spares_exit_code_and_stderr_are_the_commands(project, warehouse):
    root, env = project
    spare = start_spare(root, env)
    try:
        done = hhcast(root, env, "sql", "--live", "select nonsense from events")
    finally:
        stop_tree(spare.pid)
    assert "running hhcast sql --live select nonsense from events" in warm_log(root)
    assert done.returncode == 2
    assert 'hhcast sql: Binder Error: Referenced column "nonsense" not found' in done.stderr


def test_ctrl_c_reaches_the_command_in_the_spare(project, warehouse):
    root, env = project
    spare = start_spare(root, env)
    try:
        with connect(warehouse):  # held for writing: `sql --live` waits for it
            client = subprocess.Popen(
                [HHCAST, "sql", "--live", "select count(*) from events"], cwd=root, env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            deadline = time.monotonic() + 60
            while "running hhcast sql" not in warm_log(root):
                assert time.monotonic() < deadline and client.poll() is None
                time.sleep(0.1)
            time.sleep(1)  # into its wait for the file
            client.send_signal(signal.SIGINT)
            out, err = client.communicate(timeout=60)
        assert spare.wait(timeout=60) == 130
    finally:
        stop_tree(spare.pid)
    assert client.returncode == 130, out + err
    assert "hhcast: interrupted" in err


def test_a_command_with_other_prefect_settings_runs_in_its_own_process(project, warehouse):
    root, env = project
    spare = start_spare(root, env)
    try:
        done = hhcast(root, {**env, "PREFECT_LOGGING_LEVEL": "DEBUG"}, "sql", "select 7")
        assert done.returncode == 0, done.stderr
        assert "declined a command (other values of PREFECT_LOGGING_LEVEL)" in warm_log(root)
        assert spare.poll() is None and (root / ".prefect" / warm.SOCKET).exists()  # waits on
        taken = hhcast(root, env, "sql", "select count(*) as n from events")
        assert taken.returncode == 0, taken.stderr
        assert "running hhcast sql select count(*) as n from events" in warm_log(root)
    finally:
        stop_tree(spare.pid)
    assert "7" in done.stdout and "3" in taken.stdout


def test_without_a_spare_a_command_runs_in_its_own_process(project, warehouse):
    root, env = project
    (root / ".prefect" / warm.STARTING).write_text(str(os.getpid() + 10**6))  # a dead pid
    done = hhcast(root, env, "sql", "select count(*) as n from events")
    assert done.returncode == 0, done.stderr
    assert "3" in done.stdout
    assert not (root / ".prefect" / "warm.log").exists()
