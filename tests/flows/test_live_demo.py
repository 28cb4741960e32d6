"""`hhcast demo --live`: bad options and folders refused, and the loop run for real on a stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import live_demo, stack_state
from flows.cli import main
from flows.processes import free_port, port_is_free
from flows.scratch import QUICK_CANDIDATES, scratch_project
from warehouse.connection import connect

HHCAST = str(Path(sys.executable).parent / "hhcast")


@pytest.fixture
def demo_env(monkeypatch):
    """The settings run_live points at its folder, restored after the test."""
    for name in ("HHCAST_LANDING", "HHCAST_LAKE", "HHCAST_WAREHOUSE", "PREFECT_API_URL"):
        monkeypatch.setenv(name, "unset-by-the-test")
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weeks", "0"], "--weeks 0: the 'small' sample has 17 weeks to deliver"),
        (["--drift-from", "2022-03-02"], "the drift must start on a Monday"),
    ],
)
def test_weeks_or_a_drift_the_sample_cannot_deliver_exit_2_before_anything_starts(
    args, message, tmp_path, monkeypatch, capsys, demo_env
):
    monkeypatch.chdir(tmp_path)
    code = main(["demo", "--live", "--preset", "small", "--dir", "live", *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "live").exists()  # nothing reset, no stack started


def test_a_negative_interval_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--live", "--every", "-1"])
    assert exited.value.code == 2
    assert "-1 is no number of seconds >= 0" in capsys.readouterr().err


def test_a_folder_the_demo_did_not_make_is_never_emptied(tmp_path):
    (tmp_path / "mine.csv").write_text("keep me\n")
    with pytest.raises(live_demo.LiveDemoError, match="no live demo's folder"):
        live_demo.reset_folder(tmp_path)
    assert (tmp_path / "mine.csv").read_text() == "keep me\n"


def test_the_demos_own_folder_starts_over_empty(tmp_path):
    folder = tmp_path / "live"
    live_demo.reset_folder(folder)
    (folder / "landing").mkdir()
    (folder / "landing" / "old.csv").write_text("a week of an earlier demo\n")
    live_demo.reset_folder(folder)
    assert sorted(p.name for p in folder.iterdir()) == [live_demo.MARKER]


def test_a_stack_serving_another_warehouse_is_not_used(tmp_path, monkeypatch):
    home = tmp_path / ".prefect"
    home.mkdir()
    monkeypatch.setattr(stack_state, "HOME", home)
    running = {"pid": os.getpid(), "port": 4321, "ready": True,
               "warehouse": str(tmp_path / "warehouse" / "hhcast.duckdb")}  # fmt: skip
    (home / stack_state.STATE_FILE).write_text(json.dumps(running))
    with pytest.raises(live_demo.LiveDemoError, match="hhcast stack stop"):
        live_demo._running_stack(tmp_path / "live")
    running["warehouse"] = str(tmp_path / "live" / "warehouse" / "hhcast.duckdb")
    (home / stack_state.STATE_FILE).write_text(json.dumps(running))
    assert live_demo._running_stack(tmp_path / "live").port == 4321


def live_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project folder like a fresh clone (its code linked), and a user's environment."""
    return scratch_project(
        tmp_path,
        HHCAST_INGEST__WORKER_PROCESSES="0",
        HHCAST_TRAINING__CANDIDATES=QUICK_CANDIDATES,
        PYTHONUNBUFFERED="1",
    )


def read_line(demo: subprocess.Popen, seen: list[str], deadline: float) -> str:
    line = demo.stdout.readline()
    assert line or time.monotonic() < deadline, "".join(seen)
    seen.append(line)
    return line


@pytest.mark.slow
def test_the_live_demo_delivers_weeks_the_stack_forecasts_monitors_retrains_and_ctrl_c_stops(
    tmp_path,
):
    project, env = live_project(tmp_path)
    folder = tmp_path / "live"
    port = free_port()
    command = [HHCAST, "demo", "--live", "--preset", "small", "--every", "1", "--weeks", "8",
               "--port", str(port), "--dir", str(folder)]  # fmt: skip
    demo = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    seen: list[str] = []
    weeks: list[str] = []
    deadline = time.monotonic() + 900
    try:
        # The history, then one line per week, each the pipeline run its event started;
        # the drift (from the first week) is scored once March is in, with the 5th week.
        while len(weeks) < 7:
            line = read_line(demo, seen, deadline)
            assert demo.poll() is None or line, "".join(seen)
            if line.startswith(("history ", "2022-")):
                weeks.append(line)
        started = time.monotonic()
        demo.send_signal(signal.SIGINT)  # Ctrl-C while the 7th week's run goes on
        assert demo.wait(timeout=60) == 0, "".join(seen)
        stopping = time.monotonic() - started
    finally:
        if demo.poll() is None:
            demo.kill()
    output = "".join(seen) + demo.stdout.read()
    log = project / ".prefect" / "stack-live.log"
    context = f"{output}\n--- {log}\n{log.read_text(errors='replace')[-3000:]}"
    assert [w.split()[0] for w in weeks] == [
        "history", "2022-02-28", "2022-03-07", "2022-03-14", "2022-03-21", "2022-03-28",
        "2022-04-04",
    ], context  # fmt: skip
    assert all(" pipeline completed in " in w for w in weeks), context
    # March's weeks, drifted, are scored with the week of 2022-03-28: an alert, a retraining
    assert "ALERT opened" in weeks[5] and "trained 2 models" in weeks[5], context
    assert "stopping: no more deliveries" in output and "stopped the hhcast stack" in output
    assert stopping < 30, stopping
    assert not (project / ".prefect" / stack_state.STATE_FILE).exists()
    assert port_is_free(port)

    with connect(folder / "warehouse" / "hhcast.duckdb", read_only=True) as con:
        forecasts = con.execute(
            "select count(distinct forecast_id) from ml.predictions where plan_file <> 'what-if'"
        ).fetchone()[0]
        scored = con.execute("select count(*), sum(weeks_scored) from ml.monitor_runs").fetchone()
        (alert_opened,) = con.execute("select min(opened_at) from ml.alerts").fetchone()
        trainings = con.execute(
            "select count(distinct run_id), count(distinct run_id) filter (where created_at > ?) "
            "from ml.models",
            [alert_opened],
        ).fetchone()
    assert forecasts >= 7, context  # a forecast per delivery (the 8th's run was stopped)
    assert scored[0] >= 6 and scored[1] > 0, (scored, context)  # a monitor run per week
    assert alert_opened is not None, context
    assert trainings[0] >= 2 and trainings[1] >= 1, (trainings, context)  # and a retraining
