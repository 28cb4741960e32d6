"""Time hhcast's ingestion of the `large` sample against a plain pandas + openpyxl reading.

    ./dev python bench/ingest.py [--preset large] [--skip-reference]

Generates the sample once into bench/.cache/<preset> (kept between runs), then runs each
contender in its own process so its peak memory (max RSS) is its own:
- reference: pandas.read_excel(engine="openpyxl") on every workbook and pandas.read_csv on
  every CSV (UTF-8, else Latin-1), concatenated: the reading the product replaces, nothing more;
- hhcast core: the ingest steps (read, type, contract, archive, load into DuckDB), files in
  groups as the flow runs them, without Prefect's orchestration;
- hhcast flow: the `ingest` Prefect flow end to end on a temporary Prefect API (the API's
  start-up is reported apart, as a deployment's worker pays it once, not per run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(__file__).parent / ".cache"


def sample(preset: str) -> Path:
    """The generated sample for a preset, made once and reused."""
    out = CACHE / preset
    if not (out / "truth" / "manifest.json").exists():
        from hhcast.sample import generate

        started = time.perf_counter()
        generate(out, preset=preset)
        print(f"generated {preset} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return out


def run_reference(landing: Path) -> dict:
    import pandas as pd

    frames, rows = [], 0
    for path in sorted(landing.rglob("*")):
        if path.suffix == ".xlsx":
            frame = pd.read_excel(path, engine="openpyxl")
        elif path.suffix == ".csv":
            try:
                frame = pd.read_csv(path, encoding="utf-8")
            except UnicodeDecodeError:
                frame = pd.read_csv(path, encoding="latin-1")
        else:
            continue
        rows += len(frame)
        frames.append(frame)
    return {"rows": rows}


def run_core(landing: Path, work: Path) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from flows.ingest import prepare_warehouse
    from hhcast.config import load_settings
    from tasks.ingest import batches, groups, prepare_files, split_unchanged
    from tasks.raw.landing import list_landing
    from tasks.raw.load import record
    from tasks.raw.workers import worker_pool
    from warehouse.connection import held_open

    settings = load_settings().with_overrides(
        landing=str(landing), lake=str(work / "lake"), warehouse=work / "wh.duckdb"
    )
    ingest = settings.ingest
    # As the flow does: the warehouse held open, files prepared in worker processes a few
    # groups at a time, recorded in batches of rows while the next files are prepared.
    with held_open(settings.warehouse), worker_pool(ingest.worker_processes) as workers:
        known = prepare_warehouse.fn(settings)
        _, files = split_unchanged(list_landing(settings), known)
        in_flight = max(1, ingest.max_parallel_files // ingest.files_per_task)
        with ThreadPoolExecutor(in_flight) as pool:
            prepared = pool.map(
                lambda group: prepare_files.fn(group, settings, known, workers),
                groups(files, ingest.files_per_task),
            )
            staged = (item for group in prepared for item in group)
            with ThreadPoolExecutor(1) as writer:
                loads = [
                    writer.submit(record, settings.warehouse, batch)
                    for batch in batches(staged, ingest.batch_rows)
                ]
                outcomes = [o for load in loads for o in load.result()]
    return {
        "rows": sum(o.rows_read for o in outcomes),
        "quarantined": sum(o.rows_quarantined for o in outcomes),
    }


def run_flow(landing: Path, work: Path) -> dict:
    os.environ.update(
        HHCAST_LAKE=str(work / "lake"),
        HHCAST_WAREHOUSE=str(work / "wh.duckdb"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    from prefect.testing.utilities import prefect_test_harness

    from flows.ingest import ingest

    started = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=120):
        api_start = time.perf_counter() - started
        began = time.perf_counter()
        summary = ingest(source=str(landing))
        seconds = time.perf_counter() - began
    return {
        "rows": sum(o.rows_read for o in summary.outcomes),
        "seconds": seconds,
        "api_start_seconds": api_start,
    }


def child(kind: str, landing: Path) -> None:
    """Run one contender in this process and print its numbers as JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        if kind == "reference":
            result = run_reference(landing)
        elif kind == "core":
            result = run_core(landing, Path(tmp))
        else:
            result = run_flow(landing, Path(tmp))
        result.setdefault("seconds", time.perf_counter() - started)
    # Worker processes count too: their peak is added (an upper bound of the joint peak), and
    # their CPU time. On a shared machine CPU seconds move less than wall seconds.
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    result["peak_rss_mb"] = sum(u.ru_maxrss for u in usage) / 1024
    result["cpu_seconds"] = sum(u.ru_utime + u.ru_stime for u in usage)
    print(json.dumps(result))


def measure(kind: str, landing: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--landing", str(landing)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--child", choices=["reference", "core", "flow"], help=argparse.SUPPRESS)
    parser.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.landing)
        return
    landing = sample(args.preset) / "landing"
    files = [p for p in landing.rglob("*") if p.is_file()]
    size_mb = sum(p.stat().st_size for p in files) / 2**20
    print(f"preset {args.preset}: {len(files)} files, {size_mb:.0f} MB in {landing}")
    kinds = ["core", "flow"] + ([] if args.skip_reference else ["reference"])
    results = {kind: measure(kind, landing) for kind in kinds}
    print(
        f"{'contender':<28} {'seconds':>8} {'rows/s':>11} {'CPU s':>7} {'peak MB':>8} {'rows':>10}"
    )
    names = {
        "core": "hhcast ingest (core)",
        "flow": "hhcast ingest (Prefect flow)",
        "reference": "pandas + openpyxl read",
    }
    for kind, r in results.items():
        print(
            f"{names[kind]:<28} {r['seconds']:>8.1f} {r['rows'] / r['seconds']:>11,.0f} "
            f"{r['cpu_seconds']:>7.1f} {r['peak_rss_mb']:>8.0f} {r['rows']:>10,}"
        )
    api_start = results["flow"]["api_start_seconds"]
    print(
        f"(Prefect API start-up, paid once per process: {api_start:.1f} s; the flow's CPU "
        "includes that API's process)"
    )
    if "reference" in results:
        for kind in ("core", "flow"):
            ratio = results["reference"]["seconds"] / results[kind]["seconds"]
            print(f"speed-up of {names[kind]} over the reference: {ratio:.1f}x")


if __name__ == "__main__":
    main()
