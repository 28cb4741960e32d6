"""The retraining loop on a generated fleet, delivered week by week: alerts, accuracy, coverage.

    ./dev python bench/forecast.py --scenario drift    # HH per block hour x1.3 from --drift-from
    ./dev python bench/forecast.py --scenario steady   # the same fleet without the drift
    ./dev python bench/forecast.py --report            # both scenarios' figures, side by side

Each scenario generates the `medium` preset up to a year before --drift-from, runs the pipeline
(ingest, transform, monitor, train per policy, forecast) once, then delivers one week at a time,
the week's exports and that Monday's flight-plan issue, and runs the pipeline again after each,
as a weekly schedule would. Everything runs in this process under one temporary Prefect API,
whose start-up is not counted. The warehouse is kept under bench/.cache/forecast/<scenario>/,
so --report reads it again without re-running. It measures:
- alerts: the weeks an alert opened and closed (drift: the first within 6 weeks of the drift;
  steady: none);
- the champion's accuracy after it was retrained for the drift, over the 13 weeks after its
  promotion, against the oracle (the truth file's expected HH, what a perfect model would say);
- interval coverage over every monitored week (80 % within 0.75-0.85, 95 % within 0.90-0.98),
  for the forecasts at horizon 1 and at every horizon;
- accuracy by horizon 1-4 of the forecasts from each plan issue against the oracle under the
  plan as issued (truth/plan_expected_hh.csv: what a perfect model would say given that plan);
- seconds per weekly cycle, and forecast + monitor alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache" / "forecast"


def scenario_dir(scenario: str) -> Path:
    return CACHE / scenario


def _environment(work: Path) -> None:
    """Point hhcast at the scenario's own landing, lake and warehouse (before it loads)."""
    os.environ["HHCAST_LANDING"] = str(work / "landing")
    os.environ["HHCAST_LAKE"] = str(work / "lake")
    os.environ["HHCAST_WAREHOUSE"] = str(work / "warehouse" / "hhcast.duckdb")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def run(args: argparse.Namespace) -> dict:
    """Deliver the weeks one by one and run the pipeline after each; what each run did."""
    work = scenario_dir(args.scenario)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _environment(work)
    from flows.pipeline import pipeline
    from hhcast.sample import generate

    drift_from = date.fromisoformat(args.drift_from)
    drift = (
        {"drift_from": drift_from, "drift_factor": args.factor} if args.scenario == "drift" else {}
    )
    first_monday = drift_from - timedelta(weeks=args.weeks_before)
    weeks = [first_monday + timedelta(weeks=k) for k in range(args.weeks_before + args.weeks_after)]
    generate(work, preset=args.preset, end=first_monday - timedelta(days=1), **drift)
    started = time.perf_counter()
    pipeline(return_state=True)
    runs = [{"week": None, "seconds": time.perf_counter() - started}]
    for monday in weeks:
        sunday = monday + timedelta(days=6)
        generate(work, preset=args.preset, start=monday.replace(day=1), end=sunday, **drift)
        started = time.perf_counter()
        state = pipeline(return_state=True)
        seconds = time.perf_counter() - started
        summary = state.result(raise_on_failure=False)
        summary = getattr(summary, "data", summary)
        row = {"week": monday.isoformat(), "seconds": round(seconds, 2), "state": state.type.value}
        if hasattr(summary, "monitored") and summary.monitored:
            row["monitor"] = summary.monitored.headline()
            row["alert"] = summary.monitored.alert
        if hasattr(summary, "training_line"):
            row["train"] = summary.training_line()[:160]
            row["champion"] = summary.champion.model_id if summary.champion else None
        runs.append(row)
        print(json.dumps(row), flush=True)
    (work / "runs.json").write_text(json.dumps(runs, indent=1))
    return {"runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["drift", "steady"])
    parser.add_argument("--report", action="store_true", help="figures of the scenarios run")
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--drift-from", default="2025-03-03", help="a Monday")
    parser.add_argument("--factor", type=float, default=1.3)
    parser.add_argument("--weeks-before", type=int, default=52)
    parser.add_argument("--weeks-after", type=int, default=26)
    args = parser.parse_args()
    if args.scenario:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
