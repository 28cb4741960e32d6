"""Time hhcast's transform, full and after one new week of files, against a pandas pipeline.

    ./dev python bench/transform.py [--preset large] [--skip-reference]

Reuses bench/ingest.py's cached sample and ingest steps, and runs each contender in its own
process, whose memory is sampled with its workers' (peak RSS of the process tree). hhcast's
steps run without Prefect's orchestration:
- full: ingest the whole landing into a fresh warehouse, then build every model, run the
  data tests and record the dataset version;
- one new week: load the sample with its last month cut at the 21st, build, then deliver that
  month whole (two changed files), ingest and build again, which must be incremental; a full
  refresh of the same warehouse must then give the identical marts.features_weekly. Each of
  these builds runs in a fresh process, as a flow run does (nothing compiled or imported by
  the first build helps it), three times from the same warehouse; the best run counts;
- the same incremental build and full refresh as the Prefect flow, on a copy of that warehouse
  and a temporary Prefect API (its start-up not counted), with an empty flow for comparison;
- reference (bench/pandas_reference.py): pandas + openpyxl reading and pandas computing of the
  same weekly table, the way hhcast replaces.
Exits 1 when the rebuild was not incremental or its weekly table differs from a full refresh.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hhcast.config import Settings, find_config_file, load_settings
from hhcast.sample import PRESETS, generate
from tasks.marts.build import build_model, plan_build
from tasks.marts.data_tests import discover_tests, run_tests
from tasks.marts.project import discover, fingerprint
from tasks.marts.versions import record_version
from warehouse.connection import connect, ensure_schema

BENCH = Path(__file__).resolve().parent
REPEATS = 3  # runs of the new week's incremental build and of its full refresh
# bench/ holds scripts, not a package: borrow the ingest benchmark's sample and ingest steps.
_spec = importlib.util.spec_from_file_location("bench_ingest", BENCH / "ingest.py")
bench_ingest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_ingest)
sample, run_core = bench_ingest.sample, bench_ingest.run_core


def delivery(preset: str) -> tuple[str, list[str], Path]:
    """The cut date, the last month's two exports, and those exports cut there (made once)."""
    end = PRESETS[preset].end
    cut = end.replace(day=21)
    names = [
        f"events_unscheduled/events_unscheduled_{end:%Y_%m}.xlsx",
        f"aircraft_utilization/aircraft_utilization_{end:%Y_%m}.csv",
    ]
    out = bench_ingest.CACHE / f"{preset}-until-{cut}"
    if not all((out / name).exists() for name in names):
        # The generator writes every month the range touches; only the last month is wanted.
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), preset=preset, start=end.replace(day=1), end=cut)
            for name in names:
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(tmp) / "landing" / name, out / name)
    return cut.isoformat(), names, out


def settings_for(landing: Path, work: Path) -> Settings:
    """The settings run_core uses: the repo's config on a temporary lake and warehouse."""
    return load_settings().with_overrides(
        landing=str(landing), lake=str(work / "lake"), warehouse=work / "wh.duckdb"
    )


def transform(settings: Settings, full_refresh: bool = False) -> dict:
    """flows/transform.py's steps as plain calls: plan, build and test each model, version."""
    started = time.perf_counter()
    models = discover(settings)
    tests, digest = discover_tests(models, settings), fingerprint(models, settings)
    seconds: dict[str, list[float]] = {}  # model -> [build, data tests]
    failed = []
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        plan = plan_build(con, models, settings, digest, full_refresh)
        planned = time.perf_counter()
        for model in models if plan.mode != "up_to_date" else []:
            window = plan.window_for(model)
            began = time.perf_counter()
            build_model(con, model, settings, window)
            seconds[model.name] = [time.perf_counter() - began, 0.0]
            mine = [t for t in tests if t.model == model.name]
            began = time.perf_counter()
            results = [r for r in run_tests(con, mine, settings, plan.window) if not r.passed]
            seconds[model.name][1] = time.perf_counter() - began
            failed += [f"{model.name} {r.name}: {r.failing_rows} rows" for r in results]
        began = time.perf_counter()
        if plan.mode != "up_to_date":
            record_version(con, plan, settings)
    window = plan.window
    return {
        "mode": plan.mode,
        "reason": plan.reason,
        "window": f"{window.start} to {window.end}, lookback from {window.lookback_start}"
        if window
        else None,
        "seconds": time.perf_counter() - started,
        "plan_seconds": planned - started,
        "build_seconds": sum(b for b, _ in seconds.values()),
        "tests_seconds": sum(t for _, t in seconds.values()),
        "version_seconds": time.perf_counter() - began,
        "models": seconds,
        "failed_tests": failed,
    }


def weekly(settings: Settings, query: str = "select * from marts.features_weekly order by 1"):
    """Rows of a query on the weekly table (by default all of it, in week order)."""
    with connect(settings.warehouse) as con:
        return con.execute(query).fetchall()


def timed_ingest(landing: Path, work: Path) -> dict:
    """bench/ingest.py's core ingest of a landing folder, timed."""
    started = time.perf_counter()
    loaded = run_core(landing, work)
    return {**loaded, "seconds": time.perf_counter() - started}


def run_full(landing: Path, work: Path) -> dict:
    """Ingest everything into a fresh warehouse, then build it all."""
    ingest = timed_ingest(landing, work)
    settings = settings_for(landing, work)
    built = transform(settings)
    weeks, hh, hours = weekly(
        settings, "select count(*), sum(hh), sum(sum_daily_hours) from marts.features_weekly"
    )[0]
    return {"ingest": ingest, "transform": built, "weeks": weeks, "hh": hh, "block_hours": hours}


def run_new_week(landing: Path, work: Path, preset: str) -> dict:
    """Load up to the cut and build; deliver the rest of the month and build incrementally."""
    cut, names, cut_files = delivery(preset)
    copy = work / "landing"
    shutil.copytree(landing, copy)
    for name in names:
        shutil.copyfile(cut_files / name, copy / name)
    settings = settings_for(copy, work)
    first = {"ingest": timed_ingest(copy, work), "transform": transform(settings)}
    for name in names:  # the rest of the month arrives: same names, new content
        shutil.copyfile(landing / name, copy / name)
    ingest = timed_ingest(copy, work)
    # Each build below starts from a copy of the warehouse as it stands (the lake is shared:
    # a build only adds its snapshot there). Best of REPEATS: the machine's noise only adds.
    warehouse, before, after = work / "wh.duckdb", work / "before.duckdb", work / "after.duckdb"
    shutil.copyfile(warehouse, before)
    incremental = []
    for _ in range(REPEATS):
        shutil.copyfile(before, warehouse)
        incremental.append(transform_apart(copy, work))
    rows = weekly(settings)
    shutil.copyfile(warehouse, after)
    refresh = []
    for _ in range(REPEATS):
        shutil.copyfile(after, warehouse)
        refresh.append(transform_apart(copy, work, full_refresh=True))
    again = weekly(settings)
    differ = [i for i, (a, b) in enumerate(zip(rows, again, strict=False)) if a != b]
    flow_work = work / "flow"
    flow_work.mkdir()
    shutil.copyfile(before, flow_work / "wh.duckdb")
    (flow_work / "lake").symlink_to(work / "lake")
    flow = transform_apart(copy, flow_work, prefect_flow=True)
    return {
        "cut": cut,
        "first": first,
        "ingest": ingest,
        "transform": best(incremental),
        "full_refresh": best(refresh),
        "flow": flow,
        "weeks": [len(rows), len(again)],
        "identical": rows == again,
        "differing_weeks": [str(rows[i][0]) for i in differ[:5]],
    }


def best(runs: list[dict]) -> dict:
    """The fastest of repeated runs, with every run's seconds."""
    return {**min(runs, key=lambda r: r["seconds"]), "all_seconds": [r["seconds"] for r in runs]}


def transform_apart(
    landing: Path, work: Path, full_refresh: bool = False, prefect_flow: bool = False
) -> dict:
    """transform() in a process of its own, as a flow run or `hhcast transform` runs it: no
    module, compiled template or parsed query of an earlier step in this process helps it.
    With `prefect_flow`, the Prefect flow instead: incremental, then a full refresh."""
    kind = "flow" if prefect_flow else "transform"
    command = [sys.executable, __file__, "--child", kind, "--landing", str(landing)]
    command += ["--work", str(work)] + (["--full-refresh"] if full_refresh else [])
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_flow(landing: Path, work: Path) -> dict:
    """The transform flow on a temporary Prefect API: incremental, then a full refresh; and an
    empty flow, Prefect's own cost of a flow run (the API's start-up is reported apart)."""
    os.environ.update(
        HHCAST_LANDING=str(landing),
        HHCAST_LAKE=str(work / "lake"),
        HHCAST_WAREHOUSE=str(work / "wh.duckdb"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    from prefect import flow
    from prefect.testing.utilities import prefect_test_harness

    from flows.transform import transform as transform_flow

    @flow(name="empty")
    def empty() -> None:
        """Nothing: what any flow run costs."""

    seconds = {}
    started = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=120):
        seconds["api_start"] = time.perf_counter() - started
        for name, run in [
            ("incremental", transform_flow),
            ("full_refresh", lambda: transform_flow(full_refresh=True)),
            ("empty", empty),
        ]:
            began = time.perf_counter()
            summary = run()
            seconds[name] = time.perf_counter() - began
            if name == "incremental" and summary.plan.mode != "incremental":
                sys.exit(f"the flow's build was {summary.plan.mode}, not incremental")
    return seconds


def child(kind: str, landing: Path, preset: str, work: Path | None, full_refresh: bool) -> None:
    """Run one contender in this process and print its numbers as JSON."""
    if kind == "flow":
        print(json.dumps(run_flow(landing, work)))
        return
    if kind == "transform":
        import flows.transform  # what a flow run imports before it starts

        print(json.dumps(transform(settings_for(landing, work), full_refresh), default=str))
        return
    import flows.ingest  # noqa: F401  (Prefect's import stays out of the timings)

    with tempfile.TemporaryDirectory() as tmp:
        if kind == "full":
            result = run_full(landing, Path(tmp))
        elif kind == "new_week":
            result = run_new_week(landing, Path(tmp), preset)
        else:
            import pandas_reference

            result = pandas_reference.run(landing)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result, default=str))


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (ingest's worker processes)."""
    parents, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            rss[int(stat.parent.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError):
            continue  # the process ended while we looked
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, total = [root], 0
    while tree:
        pid = tree.pop()
        total += rss.get(pid, 0)
        tree += parents.get(pid, [])
    return total / 2**20


def measure(kind: str, landing: Path, preset: str) -> dict:
    """Run a contender in a child process, sampling its process tree's memory while it runs."""
    command = [sys.executable, __file__, "--child", kind, "--landing", str(landing)]
    started, peak = time.perf_counter(), 0.0
    with tempfile.TemporaryFile() as out:
        running = subprocess.Popen([*command, "--preset", preset], stdout=out)
        while running.poll() is None:
            peak = max(peak, tree_rss_mb(running.pid))
            time.sleep(0.2)
        if running.returncode:
            sys.exit(f"{kind} failed (exit {running.returncode}); its traceback is above")
        out.seek(0)
        result = json.loads(out.read().decode().strip().splitlines()[-1])
    print(f"{kind} finished in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return {**result, "tree_peak_rss_mb": max(peak, result["peak_rss_mb"])}


def parts(run: dict) -> str:
    """A transform's time by step."""
    steps = ("plan", "build", "tests", "version")
    return " + ".join(f"{step} {run[f'{step}_seconds']:.2f}" for step in steps)


def runs(run: dict) -> str:
    """Every repeat's seconds."""
    return ", ".join(f"{seconds:.2f}" for seconds in run["all_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument(
        "--child",
        choices=["full", "new_week", "reference", "transform", "flow"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--full-refresh", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.landing, args.preset, args.work, args.full_refresh)
        return
    landing = sample(args.preset) / "landing"
    cut = delivery(args.preset)[0]
    files = [p for p in landing.rglob("*") if p.is_file()]
    size_mb = sum(p.stat().st_size for p in files) / 2**20
    print(f"preset {args.preset}: {len(files)} files, {size_mb:.0f} MB in {landing}")
    kinds = ["full", "new_week"] + ([] if args.skip_reference else ["reference"])
    with tempfile.TemporaryDirectory() as tmp:
        # Every contender reads the config as it was at the start, whatever edits come later.
        os.environ["HHCAST_CONFIG"] = shutil.copy(find_config_file(), f"{tmp}/hhcast.yaml")
        results = {kind: measure(kind, landing, args.preset) for kind in kinds}
    report(results, cut)
    week = results["new_week"]
    if week["transform"]["mode"] != "incremental" or not week["identical"]:
        sys.exit(1)


def report(results: dict, cut: str) -> None:
    """The numbers table, where the transforms spend their time, and the checks."""
    full, week, ref = results["full"], results["new_week"], results.get("reference")
    full_s = full["ingest"]["seconds"] + full["transform"]["seconds"]
    ratio = week["transform"]["seconds"] / full["transform"]["seconds"]
    same_warehouse = week["transform"]["seconds"] / week["full_refresh"]["seconds"]
    flow = week["flow"]
    flow_ratio = flow["incremental"] / flow["full_refresh"]
    lines = [
        ("full ingest (fresh warehouse)", f"{full['ingest']['seconds']:.1f}", ""),
        ("full transform", f"{full['transform']['seconds']:.1f}", parts(full["transform"])),
        ("ingest + transform", f"{full_s:.1f}", f"{full['ingest']['rows']:,} rows read"),
        (f"incremental ingest (after {cut})", f"{week['ingest']['seconds']:.1f}",
         f"{week['ingest']['rows']:,} rows read"),
        ("incremental transform", f"{week['transform']['seconds']:.2f}",
         f"{parts(week['transform'])}; best of {runs(week['transform'])}"),
        ("incremental / full transform", f"{ratio:.1%}", "target < 5%"),
        ("full refresh, same warehouse", f"{week['full_refresh']['seconds']:.1f}",
         f"{parts(week['full_refresh'])}; best of {runs(week['full_refresh'])}"),
        # Both on one warehouse, a minute apart: less exposed to what else the machine runs.
        ("incremental / full refresh", f"{same_warehouse:.1%}", "same warehouse"),
        ("Prefect flow: incremental", f"{flow['incremental']:.2f}", "same warehouse, copied"),
        ("Prefect flow: full refresh", f"{flow['full_refresh']:.1f}", ""),
        ("Prefect flow: incremental / full", f"{flow_ratio:.1%}", ""),
        ("Prefect flow: an empty flow", f"{flow['empty']:.2f}", "Prefect's own cost of a run"),
    ]  # fmt: skip
    if ref:
        reading = f"read {ref['read_seconds']:.1f} + compute {ref['compute_seconds']:.1f}"
        lines.append(("pandas reference", f"{ref['seconds']:.1f}", reading))
        lines.append(("speed-up over pandas", f"{ref['seconds'] / full_s:.1f}x", "target >= 15x"))
    names = {"full": "hhcast full", "new_week": "hhcast new week", "reference": "pandas"}
    for kind, r in results.items():
        alone = f"its main process alone {r['peak_rss_mb']:.0f}"
        lines.append((f"peak RSS, {names[kind]} (MB)", f"{r['tree_peak_rss_mb']:.0f}", alone))
    print(f"{'measure':<36} {'value':>9}  notes")
    for label, value, note in lines:
        print(f"{label:<36} {value:>9}  {note}")

    print(f"\n{'seconds by model (build + data tests)':<42} {'full':>13} {'incremental':>13}")
    for model, (build, tests) in full["transform"]["models"].items():
        again = week["transform"]["models"].get(model, [0.0, 0.0])
        print(f"{model:<42} {build:>6.2f} {tests:>6.2f} {again[0]:>6.2f} {again[1]:>6.2f}")
    plan = week["transform"]
    print(f"\nincremental plan: {plan['mode']} ({plan['reason']})\n  weeks {plan['window']}")
    for name, run in [("full", full["transform"]), ("incremental", plan)]:
        if run["failed_tests"]:
            print(f"data tests failing in the {name} build: {'; '.join(run['failed_tests'])}")
    same = "identical" if week["identical"] else f"DIFFERENT, e.g. weeks {week['differing_weeks']}"
    rows = " and ".join(f"{n:,}" for n in week["weeks"])
    print(f"features_weekly, incremental vs full refresh: {same} ({rows} rows)")
    for measure_name in ("hh", "block_hours") if ref else ():
        ours, theirs = full[measure_name], ref[measure_name]
        print(
            f"total {measure_name}: hhcast {ours:,.2f}, pandas {theirs:,.2f} "
            f"(difference {theirs - ours:+,.2f}, {(theirs - ours) / ours:+.4%})"
        )


if __name__ == "__main__":
    main()
