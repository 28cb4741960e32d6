"""`hhcast demo --live`: the retraining loop running by itself, one week of exports at a time.

1. Use the `hhcast stack` running here, or start one (and stop it at the end).
2. Write a sample's history, with a drift to come, into the demo's folder (data/live).
3. Deliver: the history first, then every few seconds the next week's exports (its actuals
   and that Monday's flight-plan issue), each announced by the event `hhcast.landing.delivered`.
   The pipeline deployment's trigger (prefect.yaml) runs the pipeline on it: ingest, transform,
   monitor, retrain when the monitor opens an alert, forecast, report.
4. Wait for that run, print one line of what it did (flows/live_week.py), deliver the next.
A run taking longer than the interval delays the next delivery, so runs never overlap.
Ctrl-C stops delivering and stops the stack if the demo started it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from flows import stack_state
from flows.live_week import LiveDemoError
from flows.processes import stop_tree
from flows.stack_state import StackState, read_state, wait_until_ready

DELIVERED_EVENT = "hhcast.landing.delivered"
PIPELINE = "pipeline/pipeline-daily"  # the deployment whose trigger answers DELIVERED_EVENT
MARKER = "live-demo.json"  # what says a folder is a live demo's own, so it may be reset
STACK_START_SECONDS = 300
RUN_APPEARS_SECONDS = 60  # an event's automation starts its run within a second or two


@dataclass(frozen=True)
class LiveOptions:
    """What `hhcast demo --live` was asked for."""

    folder: Path  # landing/, lake/, warehouse/, truth/ of the demo's own world
    every: float  # seconds between deliveries (at least: a longer run delays the next)
    weeks: int | None  # deliveries after the history; None: until the sample runs out
    preset: str
    review: bool  # manual promotion: each training run waits for a person in the UI
    port: int
    drift_from: date | None = None  # a Monday among the delivered weeks


def point_at_folder(folder: Path) -> None:
    """Make the demo's folder the landing, lake and warehouse of this process and of the
    stack it starts (before hhcast's settings are loaded)."""
    os.environ["HHCAST_LANDING"] = str(folder / "landing")
    os.environ["HHCAST_LAKE"] = str(folder / "lake")
    os.environ["HHCAST_WAREHOUSE"] = str(folder / "warehouse" / "hhcast.duckdb")


def run_live(options: LiveOptions) -> int:
    """Run the live demo until the sample runs out, --weeks are delivered, or Ctrl-C."""
    from hhcast.deliveries import live_deliveries

    point_at_folder(options.folder)
    try:
        plan = live_deliveries(options.preset, drift_from=options.drift_from, weeks=options.weeks)
    except ValueError as exc:
        raise LiveDemoError(str(exc)) from None
    running = _running_stack(options.folder)
    if options.review and running:
        print("--review: the running stack's promotion.policy decides (it was started before)")
    reset_folder(options.folder)
    started = None
    # Ctrl-C, and SIGTERM like it, ends the wait for the current run wherever it is
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if running is None:
            started = _start_stack(options)
            running = _wait_for_stack(started)
        os.environ["PREFECT_API_URL"] = running.api_url  # before Prefect is imported
        _print_header(options, plan, running, started is not None)
        _loop(options, plan, running)
        last = plan.weeks[-1]
        print(f"done: {len(plan.weeks)} weeks delivered, the last the week of {last}")
        return 0
    except KeyboardInterrupt:
        print("\nstopping: no more deliveries", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        if started is not None:
            _stop_stack(started, running)


def _loop(options: LiveOptions, plan, stack: StackState) -> None:
    from flows.live_week import WeekReader  # it imports Prefect: after PREFECT_API_URL is set

    folder = options.folder
    reader = WeekReader(stack.ui_url)
    plan.history(folder)
    deliveries = [("history", None), *((str(monday), monday) for monday in plan.weeks)]
    next_at = time.monotonic()
    for label, monday in deliveries:
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = time.monotonic() + options.every
        if monday is not None:
            plan.deliver(folder, monday)
        emitted_at = datetime.now(UTC)
        emit_delivery(label)
        run = reader.wait_for_run(PIPELINE, emitted_at, RUN_APPEARS_SECONDS)
        print(reader.week_line(label, run), flush=True)


def emit_delivery(label: str) -> None:
    """Announce new exports in landing: the event the pipeline deployment's trigger expects.

    A plant's own file-drop script does the same with
    `prefect event emit hhcast.landing.delivered --resource-id hhcast.landing.<name>`.
    """
    from prefect.events import Event
    from prefect.events.clients import get_events_client

    from hhcast.config import load_settings

    landing = load_settings().landing
    event = Event(
        event=DELIVERED_EVENT,
        resource={"prefect.resource.id": f"hhcast.landing.{landing}"},
        payload={"delivery": label},
    )

    async def send() -> None:
        async with get_events_client() as client:
            await client.emit(event)

    asyncio.run(send())


def reset_folder(folder: Path) -> None:
    """Empty the demo's folder for a new start; refuse a folder the demo did not make."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise LiveDemoError(
                f"{folder} holds files and is no live demo's folder (no {MARKER}): pick an "
                "empty or new one with --dir"
            )
        print(f"starting over: emptying {folder}, left by an earlier live demo")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = {"started_at": datetime.now(UTC).isoformat()}
    (folder / MARKER).write_text(json.dumps(stamp) + "\n", encoding="utf-8")


def _running_stack(folder: Path) -> StackState | None:
    """The stack running here, if it serves the demo's warehouse; a stack serving another one
    cannot run the demo's deliveries (its worker's settings are fixed when it starts)."""
    running = read_state(stack_state.HOME)
    if running is None:
        return None
    ours = str((folder / "warehouse" / "hhcast.duckdb").resolve())
    if not running.ready or running.warehouse != ours:
        raise LiveDemoError(
            f"a hhcast stack is running here (pid {running.pid}, {running.ui_url}) serving "
            f"{running.warehouse or 'another warehouse'}, not the live demo's {ours}: stop it "
            "(`hhcast stack stop`) and run `hhcast demo --live` again, it starts its own"
        )
    return running


def _start_stack(options: LiveOptions) -> subprocess.Popen:
    """Start `hhcast stack` for the demo, its output in .prefect/stack-live.log."""
    home = stack_state.HOME
    home.mkdir(exist_ok=True)
    log = home / "stack-live.log"
    env = dict(os.environ)
    if options.review:
        env["HHCAST_PROMOTION__POLICY"] = "manual"
    command = [sys.executable, "-m", "flows.cli", "stack", "--port", str(options.port)]
    print(f"starting hhcast stack on port {options.port} (log {log}; 35-100 s) ...", flush=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the demo, which stops the stack in order
        )  # fmt: skip


def _wait_for_stack(supervisor: subprocess.Popen) -> StackState:
    """The stack the demo started, once ready; its log's end if it exits or stays silent."""
    log = stack_state.HOME / "stack-live.log"
    state = wait_until_ready(supervisor, stack_state.HOME, STACK_START_SECONDS)
    if state is not None:
        return state
    if supervisor.poll() is not None:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise LiveDemoError(f"hhcast stack exited with {supervisor.returncode}:\n{tail}")
    raise LiveDemoError(f"hhcast stack did not come up in {STACK_START_SECONDS} s; see {log}")


def _stop_stack(supervisor: subprocess.Popen, state: StackState | None) -> None:
    """Stop the stack the demo started, as `hhcast stack stop` does (SIGTERM, then wait)."""
    started = time.monotonic()
    if supervisor.poll() is None:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stop_tree(supervisor.pid, grace=0)
    where = f" at {state.ui_url}" if state else ""
    print(f"stopped the hhcast stack{where} in {time.monotonic() - started:.1f} s")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print_header(options: LiveOptions, plan, stack: StackState, started: bool) -> None:
    whose = "started for this demo, stopped at the end" if started else "already running, left so"
    drift = plan.drift
    promotion = (
        "manual: each training run pauses until you resume it in the UI"
        if options.review
        else "by the policy (promotion.policy, auto by default)"
    )
    lines = [
        f"hhcast demo --live: the {options.preset} sample, {len(plan.weeks)} weeks delivered "
        f"one every {options.every:g} s after its history (up to {plan.history_end})",
        f"  UI         {stack.ui_url}/runs (the stack: {whose})",
        f"  folder     {options.folder} (landing, lake, warehouse, truth)",
        f"  drift      from {drift.starts}, HH per block hour x{drift.factor:g}" if drift else "",
        f"  promotion  {promotion}",
        f"  query      HHCAST_WAREHOUSE={options.folder}/warehouse/hhcast.duckdb hhcast sql "
        '"select * from ml.monitor_runs order by run_at"',
        "  Ctrl-C     stops delivering" + (" and stops the stack" if started else ""),
    ]
    print("\n".join(line for line in lines if line), flush=True)
