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
import statistics
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


def run(args: argparse.Namespace) -> list[dict]:
    """Deliver the weeks one by one and run the pipeline after each; what each run did.

    Each run's row is appended to runs.jsonl as it ends; with --resume, the weeks after the
    last recorded one are delivered into the scenario's warehouse as it stands.
    """
    work = scenario_dir(args.scenario)
    log = work / "runs.jsonl"
    if not args.resume:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    _environment(work)
    from flows.pipeline import pipeline
    from hhcast.deliveries import Drift, WeeklyDeliveries, mondays
    from tasks.states import outcome_of

    drift_from = date.fromisoformat(args.drift_from)
    first_monday = drift_from - timedelta(weeks=args.weeks_before)
    plan = WeeklyDeliveries(
        args.preset, 7, first_monday - timedelta(days=1),
        mondays(first_monday, args.weeks_before + args.weeks_after),
        Drift(drift_from, args.factor) if args.scenario == "drift" else None,
    )  # fmt: skip
    runs = [json.loads(line) for line in log.read_text().splitlines()] if args.resume else []
    if not runs:
        plan.history(work)
        started = time.perf_counter()
        pipeline(return_state=True)
        runs.append({"week": None, "seconds": round(time.perf_counter() - started, 2)})
        log.write_text(json.dumps(runs[0]) + "\n")
    done = {r["week"] for r in runs}
    for monday in plan.weeks:
        if monday.isoformat() in done:
            continue
        plan.deliver(work, monday)
        started = time.perf_counter()
        state = pipeline(return_state=True)
        seconds = time.perf_counter() - started
        summary = outcome_of(state)
        row = {"week": monday.isoformat(), "seconds": round(seconds, 2), "state": state.type.value}
        if getattr(summary, "monitored", None):
            row["monitor"] = summary.monitored.headline()
            row["alert"] = summary.monitored.alert
            row["monitor_run_id"] = summary.monitored.run_id
        if hasattr(summary, "training_line"):
            row["train"] = summary.training_line()[:160]
            row["champion"] = summary.champion.model_id if summary.champion else None
        runs.append(row)
        with log.open("a") as out:
            out.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    return runs


def _read(work: Path, sql: str, params=None):
    import duckdb

    with duckdb.connect(str(work / "warehouse" / "hhcast.duckdb"), read_only=True) as con:
        return con.sql(sql, params=params or []).pl()


def figures(scenario: str, drift_from: date) -> dict:
    """What the scenario's warehouse shows: alerts, the retrained champion, coverage, accuracy."""
    import polars as pl

    work = scenario_dir(scenario)
    runs = [json.loads(line) for line in (work / "runs.jsonl").read_text().splitlines()]
    truth = pl.read_csv(work / "truth" / "weekly_expected_hh.csv", try_parse_dates=True)
    plan_truth = _plan_truth(work, [date.fromisoformat(r["week"]) for r in runs if r["week"]])
    weekly = [r for r in runs if r["week"]]
    run_week = {r.get("monitor_run_id"): date.fromisoformat(r["week"]) for r in weekly}
    if None in run_week:  # runs recorded without their monitor run: one per weekly run
        ids = _read(work, "select monitor_run_id from ml.monitor_runs order by run_at")
        assert ids.height == len(weekly), (ids.height, len(weekly))
        run_week = {
            i: date.fromisoformat(r["week"]) for i, r in zip(ids[:, 0], weekly, strict=True)
        }
    alerts = _read(work, "select * from ml.alerts order by opened_at")
    opened = [run_week.get(a) for a in alerts["opened_run"]]
    result: dict = {"scenario": scenario, "weekly_runs": len(weekly)}
    # A delivery of week W is monitored on the Monday after it, W + 7 days.
    result["alerts"] = [
        {"delivered_week": str(w), "weeks_after_drift": (w + timedelta(7) - drift_from).days / 7,
         "breaches": b, "closed": r}
        for w, b, r in zip(opened, alerts["breaches"], alerts["closed_reason"], strict=True)
    ]  # fmt: skip
    errors = _read(
        work,
        "select e.*, m.algorithm, p.interval_source from ml.forecast_errors e "
        "join ml.models m using (model_id) join ml.predictions p using (forecast_id, week_start)",
    ).join(truth, on="week_start")
    weeks = errors["week_start"].n_unique()
    result["coverage"] = {
        "weeks": weeks,
        "forecasts": errors.height,
        "all_horizons": {"80": errors["in_80"].mean(), "95": errors["in_95"].mean()},
        "horizon_1": {
            k: errors.filter(pl.col("horizon_weeks") == 1)[f"in_{k}"].mean() for k in ("80", "95")
        },
        # whose errors the intervals stood on: the champion's backtest, or its own monitored
        # forecasts once it had enough of them
        "by_interval_source": {
            source: _coverage(group) for (source,), group in errors.group_by("interval_source")
        },
    }
    by_horizon = (
        errors.join(plan_truth.select("plan_issued_at", "week_start", "expected_hh")
                    .rename({"expected_hh": "plan_oracle"}), on=["plan_issued_at", "week_start"])
        .filter(pl.col("horizon_weeks") <= 4)
        .group_by("horizon_weeks")
        .agg(
            n=pl.len(),
            mae=pl.col("abs_error").mean(),
            oracle_plan_mae=(pl.col("plan_oracle") - pl.col("hh_actual")).abs().mean(),
            nowcast_mae=(pl.col("hh_nowcast") - pl.col("hh_actual")).abs().mean(),
            oracle_mae=(pl.col("expected_hh") - pl.col("hh_actual")).abs().mean(),
        )
        .sort("horizon_weeks")
    )  # fmt: skip
    result["accuracy_by_horizon"] = by_horizon.to_dicts()
    if scenario == "drift" and alerts.height:
        result["retrained"] = _retrained(work, alerts["opened_at"][0], truth)
    trains = [not str(r.get("train", "")).startswith("skipped") for r in weekly]
    quiet = [r["seconds"] for r, t in zip(weekly, trains, strict=True) if not t]
    busy = [r["seconds"] for r, t in zip(weekly, trains, strict=True) if t]
    result["seconds_per_week"] = {
        "median_without_training": statistics.median(quiet) if quiet else None,
        "median_with_training": statistics.median(busy) if busy else None,
        "trainings": len(busy),
    }
    return result


def _coverage(errors) -> dict:
    return {
        "forecasts": errors.height,
        "weeks": errors["week_start"].n_unique(),
        "80": errors["in_80"].mean(),
        "95": errors["in_95"].mean(),
    }


def _plan_truth(work: Path, weeks: list[date]):
    """The oracle under every plan issue delivered: each delivery's truth file holds only its
    own issues, so they are generated again (into a scratch folder) and kept together once."""
    import tempfile

    import polars as pl

    from hhcast.sample import generate

    kept = work / "plan_truth_all.csv"
    if kept.exists():
        return pl.read_csv(kept, try_parse_dates=True)
    manifest = json.loads((work / "truth" / "manifest.json").read_text())
    drift = manifest["drift"]
    drift_args = (
        {"drift_from": date.fromisoformat(drift["from"]), "drift_factor": drift["factor"]}
        if drift["from"] else {}
    )  # fmt: skip
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for monday in weeks:
            sunday = monday + timedelta(days=6)
            generate(Path(tmp), preset=manifest["preset"], seed=manifest["seed"],
                     start=monday, end=sunday, **drift_args)  # fmt: skip
            frames.append(
                pl.read_csv(Path(tmp) / "truth" / "plan_expected_hh.csv", try_parse_dates=True)
            )
    plans = pl.concat(frames).unique(["plan_issued_at", "week_start"], keep="last")
    plans.write_csv(kept)
    return plans


def _retrained(work: Path, alert_opened, truth) -> dict:
    """The first champion promoted after the alert, on the 13 weeks after its promotion:
    its nowcast (its forecasting artifact on the weeks' actual utilisation) against the
    oracle, and the forecasts that were in force."""
    import numpy as np
    import polars as pl

    from hhcast.config import load_settings
    from tasks.ml import artifacts
    from tasks.ml.registry import get_model
    from warehouse.connection import connect

    _environment(work)
    settings = load_settings()
    with connect(settings.warehouse, read_only=True) as con:
        row = con.execute(
            "select to_model, decided_at from ml.promotions where action = 'promote' "
            "and decided_at > ? order by decided_at limit 1",
            [alert_opened],
        ).fetchone()
        if row is None:
            return {"promoted": None}
        model = get_model(con, row[0])
        after = con.sql(
            "select * from marts.features_weekly where is_complete and week_start > ? "
            "order by week_start limit 13",
            params=[model.forecast_train_end],
        ).pl()
    uri, digest = model.forecast_artifact()
    forecaster = artifacts.fetch(uri, digest, model.algorithm, model.features, settings)
    scored = after.with_columns(
        nowcast=pl.Series(np.asarray(forecaster.predict(after), dtype=float))
    ).join(truth, on="week_start")
    mae = float((scored["nowcast"] - scored["hh"]).abs().mean())
    oracle = float((scored["expected_hh"] - scored["hh"]).abs().mean())
    return {
        "promoted": model.model_id,
        "promoted_at": str(row[1]),
        "level_shifts": model.level_shifts,
        "weeks": scored.height,
        "first_week": str(scored["week_start"].min()),
        "nowcast_mae": mae,
        "oracle_mae": oracle,
        "ratio": mae / oracle,
    }


def speed(scenario: str, deliver: date) -> dict:
    """Forecast plus monitor on a copy of the scenario's warehouse, its last month's scoring
    undone (so there is work to do), each timed inside one process whose Prefect API is up and
    the model library (skops, scikit-learn) imported, its import timed apart; an empty flow's
    run is the orchestration floor. Then one more week delivered and the
    weekly cycle through `hhcast run` in a fresh process, Prefect's start-up included."""
    import subprocess

    import duckdb
    from prefect import flow

    work = scenario_dir(scenario)
    copy = CACHE / f"{scenario}-speed"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(work / "warehouse", copy / "warehouse")
    shutil.copytree(work / "landing", copy / "landing")
    _environment(work)
    os.environ["HHCAST_WAREHOUSE"] = str(copy / "warehouse" / "hhcast.duckdb")
    os.environ["HHCAST_LANDING"] = str(copy / "landing")
    with duckdb.connect(os.environ["HHCAST_WAREHOUSE"]) as con:
        (last,) = con.execute(
            "select monitor_run_id from ml.monitor_runs where weeks_scored > 0 "
            "order by run_at desc limit 1"
        ).fetchone()
        undone = con.execute(
            "delete from ml.forecast_errors where monitor_run_id = ? returning week_start", [last]
        ).fetchall()
        con.execute(
            "delete from ml.predictions where forecast_id = "
            "(select forecast_id from ml.predictions order by made_at desc limit 1)"
        )
    from flows.forecast import forecast
    from flows.monitor import monitor

    @flow
    def empty() -> None:
        pass

    empty()  # the temporary API starts here, not counted

    def timed(run) -> float:
        started = time.perf_counter()
        state = run(return_state=True)
        assert state.is_completed(), state.message
        return time.perf_counter() - started

    floor = statistics.median(timed(empty) for _ in range(3))
    # Loading a scikit-learn model through skops imports scikit-learn and SciPy, once per
    # process: the monitor's nowcast pays it when nothing imported them before. Timed apart,
    # so the flows' own work compares with runs where the modules were already loaded.
    started = time.perf_counter()
    import skops.io  # noqa: F401

    model_library = time.perf_counter() - started
    monitored, forecasted = timed(monitor), timed(forecast)
    from hhcast.deliveries import Drift, WeeklyDeliveries

    drift = json.loads((work / "truth" / "manifest.json").read_text())["drift"]
    drifting = Drift(date.fromisoformat(drift["from"]), drift["factor"]) if drift["from"] else None
    WeeklyDeliveries("medium", 7, deliver - timedelta(days=1), (deliver,), drifting).deliver(
        copy, deliver
    )
    started = time.perf_counter()
    cli = subprocess.run([sys.executable, "-m", "flows.cli", "run"], capture_output=True, text=True)
    cycle = time.perf_counter() - started
    return {
        "weeks_rescored": len(undone),
        "empty_flow_s": round(floor, 2),
        "monitor_s": round(monitored, 2),
        "forecast_s": round(forecasted, 2),
        "forecast_plus_monitor_beyond_two_empty_flows_s": round(
            monitored + forecasted - 2 * floor, 2
        ),
        "importing_skops_and_scikit_learn_before_s": round(model_library, 2),
        "weekly_cycle_hhcast_run_s": round(cycle, 1),
        "weekly_cycle_exit_code": cli.returncode,
    }


def report(drift_from: date) -> None:
    for scenario in ("drift", "steady"):
        if (scenario_dir(scenario) / "runs.jsonl").exists():
            print(json.dumps(figures(scenario, drift_from), indent=1, default=str))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["drift", "steady"])
    parser.add_argument("--report", action="store_true", help="figures of the scenarios run")
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--drift-from", default="2025-03-03", help="a Monday")
    parser.add_argument("--factor", type=float, default=1.3)
    parser.add_argument("--weeks-before", type=int, default=52)
    parser.add_argument("--weeks-after", type=int, default=26)
    parser.add_argument("--resume", action="store_true", help="go on from the last week run")
    parser.add_argument(
        "--speed", action="store_true", help="time forecast + monitor and a weekly cycle"
    )
    args = parser.parse_args()
    if args.scenario:
        run(args)
    if args.report:
        report(date.fromisoformat(args.drift_from))
    if args.speed:
        log = (scenario_dir("steady") / "runs.jsonl").read_text().splitlines()
        runs = [json.loads(line) for line in log]
        following = date.fromisoformat(runs[-1]["week"]) + timedelta(weeks=1)
        print(json.dumps(speed("steady", following), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
