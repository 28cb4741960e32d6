"""What the local stack costs and saves: `hhcast stack` start and stop, and the weekly cycle
with it against Prefect's temporary API.

    ./dev python bench/stack.py [--runs 3]

In a project folder of its own (the code linked, the `small` sample's history, a fresh
`.prefect/`): starts `hhcast stack` and times it until it is ready (server healthy,
prefect.yaml deployed, worker online); runs the pipeline once (ingest, build, train,
forecast). Then, through the stack, the weekly cycle `runs` times: one week of exports
delivered into landing (hhcast/deliveries.py, as a plant hands them over), and `hhcast run`
to a new forecast; and `hhcast transform` with nothing new, as a control. Each run's own
duration (start to end) is read from the server; the rest of the command's wall time is its
cost (Python, imports, the API). It times `hhcast stack stop`, then the same with Prefect's
temporary API, delivering the following weeks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.processes import free_port, stop_tree  # noqa: E402
from flows.scratch import scratch_project  # noqa: E402
from hhcast.deliveries import WeeklyDeliveries, mondays  # noqa: E402

HHCAST = str(Path(sys.executable).parent / "hhcast")
RUN_LINK = re.compile(r"run: (http://\S+)/runs/flow-run/([0-9a-f-]{36})")
NEW_FORECAST = re.compile(r"^forecast: .* forecast [0-9a-f]+ new", re.MULTILINE)
HISTORY_END = date(2022, 2, 27)  # a Sunday of the small preset, ~3.5 years of history


def weekly(runs: int) -> WeeklyDeliveries:
    """The small sample's history, then a week for each weekly cycle (both ways round)."""
    first = HISTORY_END + timedelta(days=1)
    return WeeklyDeliveries("small", 7, HISTORY_END, mondays(first, 2 * runs))


def project_folder(base: Path, deliveries: WeeklyDeliveries) -> tuple[Path, dict[str, str]]:
    """A fresh-clone-like project with the sample's history; the environment to run hhcast in."""
    deliveries.history(base / "sample")
    return scratch_project(
        base,
        HHCAST_LANDING=str(base / "sample" / "landing"),
        HHCAST_LAKE=str(base / "lake"),
        HHCAST_WAREHOUSE=str(base / "warehouse" / "hhcast.duckdb"),
    )


def hhcast(args: list[str], project: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run an hhcast command; its wall seconds and output (fail loudly)."""
    started = time.monotonic()
    done = subprocess.run([HHCAST, *args], cwd=project, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"hhcast {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def import_seconds(module: str, env: dict[str, str]) -> float:
    """Wall seconds of a fresh Python importing `module` (what every command pays first)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, env=env, check=True)
    return time.monotonic() - started


def run_seconds(api_url: str, flow_run_id: str) -> float:
    """The flow run's own duration, start to end, as the server recorded it."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
    return (run.end_time - run.start_time).total_seconds()


def timed_commands(
    project, env, weeks: Iterator[date], deliver, runs: int, served: bool
) -> dict[str, list[tuple[float, float]]]:
    """(wall, own work) seconds of the weekly cycle and of a transform with nothing new, each
    `runs` times; own work only on the stack."""
    found: dict[str, list[tuple[float, float]]] = {}
    for command in (["run"], ["transform"]):
        for _ in range(runs):
            if command == ["run"]:
                deliver(next(weeks))  # the week's exports land (not timed)
            wall, out = hhcast(command, project, env)
            if command == ["run"] and not NEW_FORECAST.search(out):
                raise SystemExit(f"the weekly cycle made no new forecast:\n{out}")
            own = float("nan")
            if served:
                link = RUN_LINK.search(out)
                assert link, f"no run link in:\n{out}"
                own = run_seconds(f"{link.group(1)}/api", link.group(2))
            found.setdefault(" ".join(command), []).append((wall, own))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="times each command is run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hhcast-bench-stack-") as tmp:
        deliveries = weekly(args.runs)
        project, env = project_folder(Path(tmp), deliveries)
        weeks = iter(deliveries.weeks)

        def deliver(monday: date) -> None:
            deliveries.deliver(Path(tmp) / "sample", monday)

        home = project / ".prefect"
        port = free_port()
        started = time.monotonic()
        with (Path(tmp) / "stack.out").open("wb") as out:
            supervisor = subprocess.Popen(
                [HHCAST, "stack", "--port", str(port)], cwd=project, env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            while not _ready(home):
                if supervisor.poll() is not None:
                    raise SystemExit((Path(tmp) / "stack.out").read_text())
                time.sleep(0.2)
            start_seconds = time.monotonic() - started
            hhcast(["run"], project, env)  # ingest, build, train and forecast once
            served = timed_commands(project, env, weeks, deliver, args.runs, served=True)
            stop_seconds, _ = hhcast(["stack", "stop"], project, env)
            supervisor.wait(timeout=30)
        finally:
            if supervisor.poll() is None:
                stop_tree(supervisor.pid)
        temporary = timed_commands(project, env, weeks, deliver, args.runs, served=False)
        imports = {
            module: statistics.median(import_seconds(module, env) for _ in range(args.runs))
            for module in ("prefect", "flows.transform", "flows.pipeline")
        }

    print(f"hhcast stack: ready in {start_seconds:.1f} s, `hhcast stack stop` {stop_seconds:.1f} s")
    print(f"{'command':<18}{'stack: wall':>12}{'own work':>10}{'cost':>8}{'temporary API':>15}")
    for command, timings in served.items():
        wall = statistics.median(w for w, _ in timings)
        own = statistics.median(o for _, o in timings)
        alone = statistics.median(w for w, _ in temporary[command])
        cost = wall - own
        name = "run, a week in" if command == "run" else f"{command}, nothing"
        print(f"hhcast {name:<16}{wall:>6.1f} s{own:>8.1f} s{cost:>6.1f} s{alone:>13.1f} s")
    print(f"(medians of {args.runs} runs; cost = wall time minus the run's own duration; "
          "`run` after each week's delivery, to a new forecast)")  # fmt: skip
    print("where the cost goes, importing in a fresh Python: " + ", ".join(
        f"{module} {seconds:.1f} s" for module, seconds in imports.items()
    ))  # fmt: skip
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _ready(home: Path) -> bool:
    try:
        return json.loads((home / "stack.json").read_text()).get("ready", False)
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    main()
