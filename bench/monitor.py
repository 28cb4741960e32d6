"""The monitor flow's cost: seconds per run, and how often a run opens the warehouse.

    ./dev python bench/monitor.py [--runs 7] [--preset medium]

The first call builds bench/.cache/monitor/<preset>/ once: the sample up to 2025-06-29, the
pipeline on it (two quick candidates: this times monitoring, not training), then the next
four weeks' exports, ingested and transformed, so their forecast weeks wait to be scored.
Each timed run starts from a fresh copy of that warehouse, so every run scores the same
weeks, records the same metrics, drift and volumes and judges them. Everything runs in this
process under one temporary Prefect API, whose start-up is not counted; an empty flow's run
is the orchestration floor. It prints the median and best run, the floor, and per run the
DuckDB connections opened and the schema checks (ensure_schema) made, with the median seconds
a run spends opening and closing connections (the last close checkpoints) and checking the
schema: the part of the run that depends on how it holds the warehouse.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from flows.scratch import QUICK_CANDIDATES

BENCH = Path(__file__).resolve().parent
FORECAST_FROM = date(2025, 6, 29)  # a Sunday: the first delivery ends here
DELIVERED_WEEKS = 4


def _environment(work: Path, warehouse: Path) -> None:
    """Point hhcast at the bench's landing, lake and warehouse (before it loads)."""
    os.environ["HHCAST_LANDING"] = str(work / "landing")
    os.environ["HHCAST_LAKE"] = str(work / "lake")
    os.environ["HHCAST_WAREHOUSE"] = str(warehouse)
    os.environ["HHCAST_TRAINING__CANDIDATES"] = QUICK_CANDIDATES
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def build(work: Path, preset: str) -> Path:
    """The warehouse one delivery after its forecast (made once, kept in the cache)."""
    baseline = work / "baseline" / "hhcast.duckdb"
    if baseline.exists():
        return baseline
    shutil.rmtree(work, ignore_errors=True)
    live = work / "warehouse" / "hhcast.duckdb"
    _environment(work, live)
    from flows.ingest import ingest
    from flows.pipeline import pipeline
    from flows.transform import transform
    from hhcast.sample import generate

    generate(work, preset=preset, end=FORECAST_FROM)
    state = pipeline(return_state=True)
    assert state.is_completed(), state.message
    monday = FORECAST_FROM + timedelta(days=1)
    generate(
        work, preset=preset, start=monday.replace(day=1),
        end=monday + timedelta(weeks=DELIVERED_WEEKS, days=-1),
    )  # fmt: skip
    assert ingest(return_state=True).is_completed()
    assert transform(return_state=True).is_completed()
    baseline.parent.mkdir(parents=True)
    shutil.copyfile(live, baseline)
    return baseline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--preset", default="medium")
    args = parser.parse_args()
    work = BENCH / ".cache" / "monitor" / args.preset
    baseline = build(work, args.preset)
    timed_copy = work / "timed" / "hhcast.duckdb"
    _environment(work, timed_copy)

    # Counted from here on, before any task module binds these names: every DuckDB connection
    # opened, every connection block of warehouse/connection.py timed (open to close, the
    # instance's checkpoint on the last close included), every schema check timed.
    from contextlib import contextmanager

    import duckdb

    import warehouse.connection as connection

    calls: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    duckdb_connect, connect, ensure_schema = (
        duckdb.connect,
        connection.connect,
        connection.ensure_schema,
    )

    def counted_connect(*a, **k):
        calls["duckdb_connect"] += 1
        return duckdb_connect(*a, **k)

    @contextmanager
    def timed_connect(*a, **k):
        started = time.perf_counter()
        with connect(*a, **k) as con:
            spent["open_s"] += time.perf_counter() - started
            yield con
            started = time.perf_counter()
        spent["close_s"] += time.perf_counter() - started

    def timed_ensure_schema(con):
        calls["ensure_schema"] += 1
        started = time.perf_counter()
        ensure_schema(con)
        spent["schema_s"] += time.perf_counter() - started

    duckdb.connect, connection.connect = counted_connect, timed_connect
    connection.ensure_schema = timed_ensure_schema
    from prefect import flow

    from flows.monitor import monitor

    @flow
    def empty() -> None:
        pass

    empty()  # the temporary API starts here, not counted

    def fresh_copy() -> None:
        shutil.rmtree(timed_copy.parent, ignore_errors=True)
        timed_copy.parent.mkdir(parents=True)
        shutil.copyfile(baseline, timed_copy)

    floor = statistics.median(_timed(empty)[0] for _ in range(3))
    seconds, warehouse_s, opened = [], [], []
    for _ in range(args.runs):
        fresh_copy()
        calls.clear()
        spent.clear()
        elapsed, summary = _timed(monitor)
        seconds.append(elapsed)
        warehouse_s.append(dict(spent))
        opened.append(dict(calls))
    median = {k: round(statistics.median(w[k] for w in warehouse_s), 3) for k in spent}
    print(
        json.dumps(
            {
                "preset": args.preset,
                "weeks_scored": summary.weeks_scored,
                "alert": summary.alert,
                "runs": args.runs,
                "monitor_median_s": round(statistics.median(seconds), 3),
                "monitor_best_s": round(min(seconds), 3),
                "empty_flow_s": round(floor, 3),
                "per_run": opened[-1],
                "per_run_median_s": median,
                "load_1min": round(os.getloadavg()[0], 1),
            },
            indent=1,
        )
    )
    return 0


def _timed(run) -> tuple[float, object]:
    from tasks.states import value_of

    started = time.perf_counter()
    state = run(return_state=True)
    assert state.is_completed(), state.message
    return time.perf_counter() - started, value_of(state)


if __name__ == "__main__":
    sys.exit(main())
