"""What the read replica costs the writer, and what its readers get while flows write.

    ./dev python bench/replica.py [--preset medium] [--sample DIR] [--rounds 8]

On a warehouse holding the whole sample (ingested and built with bench/ingest.py's and
bench/transform.py's core steps, no Prefect):
- the ways to copy it consistently, each inside the writer's hold: hhcast's (CHECKPOINT, copy
  the file, stamp it, os.replace), ATTACH + COPY FROM DATABASE, EXPORT / IMPORT DATABASE;
  each copy's tables and views must count the rows the warehouse does;
- the writer's time with and without publishing, best of REPEATS, alternating: a full-refresh
  transform (every model, its data tests, the version) and a short write (one forecast's
  rows into ml.predictions), each inside `writing()` as a flow holds the warehouse;
- readers in processes of their own during `--rounds` of those writes (half of them
  publishing), each query on a fresh connection as `hhcast sql` opens one, checking it reads
  one committed state, and a session holding one connection open throughout: queries per
  second, failures, inconsistent reads. They query as fast as they can: on 2 cores they take
  CPU from the writer, which the writes without publishing under the same load show apart.
Exits 1 when a copy differs from the warehouse or a reader failed or read an inconsistent state.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from hhcast.config import Settings, WarehouseSettings
from warehouse.connection import connect, writing
from warehouse.replica import publish

BENCH = Path(__file__).resolve().parent
REPEATS = 5
_spec = importlib.util.spec_from_file_location("bench_transform", BENCH / "transform.py")
bench_transform = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_transform)

# An analyst's loop: a fresh read-only connection per query (or one held), a typical query,
# and the check that the answer is one committed state: the weekly table has the weeks of
# the dataset version the replica's stamp names.
READER = textwrap.dedent(
    """
    import json, pathlib, sys, time, duckdb
    replica, stop, report, mode = sys.argv[1:5]
    stats = {"queries": 0, "failures": [], "inconsistent": 0, "published": []}
    held = duckdb.connect(replica, read_only=True) if mode == "held" else None
    started = time.perf_counter()
    while not pathlib.Path(stop).exists():
        try:
            con = held or duckdb.connect(replica, read_only=True)
            weeks, expected, published_at = con.execute(
                "select (select count(*) from marts.features_weekly), v.weeks, "
                "r.published_at::varchar from meta.replica r "
                "join meta.dataset_versions v on v.version_id = r.dataset_version"
            ).fetchall()[0]
            con.execute(
                "select week_start, acft, sum_daily_hours, hh from marts.features_weekly "
                "where is_complete order by week_start desc limit 8"
            ).fetchall()
            if held is None:
                con.close()
        except Exception as exc:
            stats["failures"].append(repr(exc)[:200])
            continue
        stats["queries"] += 1
        stats["inconsistent"] += weeks != expected
        if published_at not in stats["published"]:
            stats["published"].append(published_at)
    stats["seconds"] = time.perf_counter() - started
    stats["published"] = len(stats["published"])
    pathlib.Path(report).write_text(json.dumps(stats))
    """
)


def built_warehouse(landing: Path, work: Path) -> Settings:
    """The sample ingested and built into a fresh warehouse in `work`."""
    started = time.perf_counter()
    bench_transform.timed_ingest(landing, work)
    settings = bench_transform.settings_for(landing, work)
    # settings_for sets the warehouse as a bare path; the replica needs the whole section
    settings = settings.model_copy(update={"warehouse": WarehouseSettings(path=work / "wh.duckdb")})
    bench_transform.transform(settings)
    print(f"built the warehouse in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return settings


def counts(con) -> dict[str, int]:
    """Rows of every table and view, by name."""
    names = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() "
        "where schema_name <> 'meta' or table_name <> 'replica' union all "
        "select schema_name || '.' || view_name from duckdb_views() where not internal"
    ).fetchall()
    return {n: con.execute(f"select count(*) from {n}").fetchall()[0][0] for (n,) in names}


def copy_options(settings: Settings) -> dict:
    """Each way of copying the warehouse, timed REPEATS times inside the writer's hold."""
    warehouse = settings.warehouse
    folder = warehouse.path.parent
    timings: dict[str, list[float]] = {"file copy": [], "file copy, stamp, replace": []}
    timings["attach + copy from database"] = []
    results = {}
    with writing(warehouse, timeout=60), connect(warehouse) as con:
        live = counts(con)
        name = con.execute("select current_database()").fetchall()[0][0]
        for _ in range(REPEATS):
            published = publish(con, warehouse, published_by="bench")
            timings["file copy"].append(published.stamp.copy_seconds)
            timings["file copy, stamp, replace"].append(published.seconds)
            attached = folder / "attached.duckdb"
            attached.unlink(missing_ok=True)
            began = time.perf_counter()
            con.execute(f"attach '{attached}' as replica_copy")
            con.execute(f"copy from database {name} to replica_copy")
            con.execute("detach replica_copy")
            timings["attach + copy from database"].append(time.perf_counter() - began)
        exported = Path(tempfile.mkdtemp(dir=folder))
        began = time.perf_counter()
        con.execute(f"export database '{exported}' (format parquet)")
        imported = folder / "imported.duckdb"
        try:
            with connect(imported) as target:
                target.execute(f"import database '{exported}'")
            results["export / import"] = {"seconds": time.perf_counter() - began}
        except Exception as exc:  # the finding is the failure
            results["export / import"] = {"fails": str(exc).splitlines()[0]}
        shutil.rmtree(exported)
    for option, path in [
        ("file copy, stamp, replace", warehouse.replica_path),
        ("attach + copy from database", folder / "attached.duckdb"),
    ]:
        with connect(path, read_only=True) as copy:
            same = counts(copy) == live
        runs = timings[option]
        results[option] = {"best": min(runs), "median": statistics.median(runs), "same": same}
    runs = timings["file copy"]
    results["file copy"] = {"best": min(runs), "median": statistics.median(runs), "same": True}
    results["megabytes"] = warehouse.path.stat().st_size / 1e6
    results["relations"] = len(live)
    return results


def short_write(settings: Settings) -> None:
    """One forecast's rows, as the forecast flow appends them."""
    with connect(settings.warehouse) as con:
        con.execute(
            "insert into ml.predictions (forecast_id, run_id, model_id, dataset_version, "
            "plan_file, week_start, hh_pred, made_at) select ?, 'bench', 'bench', 'v', "
            "'bench', date '2030-01-06' + 7 * i::int, 1000 + i, ? from range(5) r(i)",
            [uuid.uuid4().hex, datetime.now(UTC)],
        )


def rebuild(settings: Settings) -> None:
    bench_transform.transform(settings, full_refresh=True)


def one_write(settings: Settings, write, publishing: bool) -> float:
    """A flow's hold on the warehouse: the write, then (if asked) the publication."""
    started = time.perf_counter()
    with writing(settings.warehouse, timeout=60):
        write(settings)
        if publishing:
            with connect(settings.warehouse) as con:
                publish(con, settings.warehouse, published_by="bench")
    return time.perf_counter() - started


def writer_with_and_without(settings: Settings) -> dict:
    """Each writer's time, REPEATS times alternating without and with publishing."""
    results = {}
    for label, write in [("full-refresh transform", rebuild), ("short write", short_write)]:
        runs: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(REPEATS):
            for publishing in (False, True):
                key = "with" if publishing else "without"
                runs[key].append(one_write(settings, write, publishing))
        results[label] = {k: {"best": min(v), "median": statistics.median(v), "runs": v}
                          for k, v in runs.items()}  # fmt: skip
    return results


def readers_during_writes(settings: Settings, rounds: int) -> dict:
    """Readers in their own processes while the writer rebuilds and writes, publishing."""
    folder = Path(tempfile.mkdtemp())
    stop = folder / "stop"
    readers = []
    for name, mode in [("fresh-1", "fresh"), ("fresh-2", "fresh"), ("held", "held")]:
        report = folder / f"{name}.json"
        process = subprocess.Popen(
            [sys.executable, "-c", READER, str(settings.warehouse.replica_path), str(stop),
             str(report), mode]
        )  # fmt: skip
        readers.append((name, process, report))
    time.sleep(1.0)  # let them start querying
    # the same writes with and without publishing, under the same readers' load
    writes: dict[str, list[float]] = {}
    try:
        for i in range(rounds):
            write, publishing = (rebuild, short_write)[i % 2], i // 2 % 2 == 0
            label = f"{write.__name__}, {'with' if publishing else 'without'} publishing"
            writes.setdefault(label, []).append(one_write(settings, write, publishing))
    finally:
        stop.touch()
        for _, process, _ in readers:
            process.wait(timeout=120)
    result = {"writer_seconds": writes}
    for name, _, report in readers:
        stats = json.loads(report.read_text())
        stats["queries_per_second"] = stats["queries"] / stats["seconds"]
        stats["failures"] = len(stats["failures"]), stats["failures"][:3]
        result[name] = stats
    shutil.rmtree(folder)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--sample", type=Path, help="a generated sample (default: the cache)")
    parser.add_argument("--rounds", type=int, default=8, help="writes while readers read")
    args = parser.parse_args()
    out = args.sample or bench_transform.sample(args.preset)
    with tempfile.TemporaryDirectory() as tmp:
        settings = built_warehouse(out / "landing", Path(tmp))
        options = copy_options(settings)
        writer = writer_with_and_without(settings)
        readers = readers_during_writes(settings, args.rounds)
    print(json.dumps({"copy": options, "writer": writer, "readers": readers}, indent=1))
    _print_summary(options, writer, readers)
    copies_differ = not all(
        options[o]["same"] for o in ("file copy, stamp, replace", "attach + copy from database")
    )
    bad = sum(
        r["failures"][0] + r["inconsistent"] for k, r in readers.items() if k != "writer_seconds"
    )
    return 1 if copies_differ or bad else 0


def _print_summary(options: dict, writer: dict, readers: dict) -> None:
    print(f"\nwarehouse {options['megabytes']:.1f} MB, {options['relations']} tables and views")
    for option in ("file copy", "file copy, stamp, replace", "attach + copy from database"):
        o = options[option]
        print(
            f"  {option:30} best {o['best']:.3f} s, median {o['median']:.3f} s, "
            f"same rows: {o['same']}"
        )
    print(f"  {'export / import':30} {options['export / import']}")
    for label, runs in writer.items():
        without, with_ = runs["without"], runs["with"]
        print(
            f"{label}: without publishing best {without['best']:.3f} s (median "
            f"{without['median']:.3f}), with best {with_['best']:.3f} s "
            f"(median {with_['median']:.3f})"
        )
    print("writes while readers read:")
    for label, runs in readers["writer_seconds"].items():
        print(f"  {label}: {', '.join(f'{s:.2f}' for s in runs)} s")
    for name in ("fresh-1", "fresh-2", "held"):
        r = readers[name]
        print(
            f"  reader {name}: {r['queries']} queries, {r['queries_per_second']:.1f}/s, "
            f"{r['failures'][0]} failures, {r['inconsistent']} inconsistent, "
            f"{r['published']} replicas seen"
        )


if __name__ == "__main__":
    os.environ.setdefault("HHCAST_INGEST__WORKER_PROCESSES", "2")
    raise SystemExit(main())
