"""The `hhcast` command: generate sample exports, run the pipeline's flows, try it all at once,
or serve it all (`hhcast stack`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasks.ingest import IngestSummary

from flows.console import (
    CONFIGURATION,
    exit_code_of,
    exit_without_teardown,
    explain,
    in_process_run,
    prepare_environment,
)
from flows.stack import DEFAULT_PORT
from flows.stack_state import HOME, use_running_stack

prepare_environment()

# The generator writes landing/ and truth/ under it: data/landing is hhcast.yaml's landing, so
# the demo's sample is what `hhcast ingest` and the stack's deployments read too.
DEMO_DIR = Path("data")
LIVE_DIR = DEMO_DIR / "live"  # the live demo's own landing, lake and warehouse


def executable() -> None:
    """The `hhcast` executable: main() on the command line, then its exit code, without the
    interpreter's teardown of every module (flows/console.exit_without_teardown)."""
    code = 1  # what Python exits with when an exception escapes
    exit_without_teardown(lambda: code)
    try:
        code = main(warm=True)
    except SystemExit as exc:  # argparse's --help and usage errors
        code = exit_code_of(exc)
        raise
    raise SystemExit(code)


def main(argv: list[str] | None = None, *, warm: bool = False) -> int:
    """Parse the command line and run one subcommand; return the process exit code.

    `warm`: while a stack runs here, hand the command to its spare process, which has
    imported everything already (flows/warm.py); the `hhcast` executable does.
    """
    args = _parser().parse_args(argv)
    if args.run is not _stack:
        stack = use_running_stack()  # before Prefect is imported: its settings are read once
        if warm and stack is not None and not (args.run is _demo and args.live):
            from flows.warm import hand_over

            code = hand_over(sys.argv[1:] if argv is None else argv, HOME)
            if code is not None:
                return code
    try:
        return args.run(args)
    except BaseException as exc:  # every failure becomes a message and an exit code
        if isinstance(exc, SystemExit):
            raise
        message, code = explain(exc)
        print(f"hhcast: {message}", file=sys.stderr)
        return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hhcast", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    gen = commands.add_parser("generate", help="write deterministic sample exports and truth")
    gen.add_argument("--out", type=Path, required=True, help="folder to write landing/ and truth/")
    gen.add_argument("--preset", choices=["small", "medium", "large"], default="medium")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--start", type=date.fromisoformat, help="emit rows from this date on")
    gen.add_argument("--end", type=date.fromisoformat, help="emit rows up to this date")
    gen.add_argument("--drift-from", type=date.fromisoformat, help="HH per flight hour changes")
    gen.add_argument("--drift-factor", type=float, default=1.0, help="... by this factor")
    gen.add_argument(
        "--plan-weeks",
        type=int,
        default=8,
        help="weeks each weekly flight-plan issue plans ahead, 0 for none (default 8)",
    )
    gen.set_defaults(run=_generate)

    ing = commands.add_parser("ingest", help="load new raw exports from landing into raw.*")
    ing.add_argument("--source", help="landing folder or s3:// URI (default: hhcast.yaml)")
    ing.set_defaults(run=_ingest)

    tra = commands.add_parser("transform", help="rebuild the weekly features from raw.* with sql/")
    tra.add_argument("--full-refresh", action="store_true", help="rebuild everything")
    tra.set_defaults(run=_transform)

    run = commands.add_parser("run", help="the whole pipeline: ingest, transform, train")
    run.add_argument("--source", help="landing folder or s3:// URI (default: hhcast.yaml)")
    run.add_argument("--full-refresh", action="store_true", help="rebuild every week")
    run.add_argument("--promotion", choices=["auto", "manual", "never"], help="override policy")
    run.set_defaults(run=_pipeline)

    ret = commands.add_parser("retrain", help="land files, ingest, rebuild, train and decide")
    ret.add_argument("--files", nargs="+", required=True, help="paths or s3:// URIs to land")
    ret.add_argument("--promotion", choices=["auto", "manual", "never"], help="override policy")
    ret.set_defaults(run=_retrain)

    trn = commands.add_parser("train", help="train candidates, register them, decide the champion")
    trn.add_argument("--dataset-version", help="meta.dataset_versions id (default: the latest)")
    trn.add_argument(
        "--promotion", choices=["auto", "manual", "never"], help="override promotion.policy"
    )
    trn.set_defaults(run=_train)

    fc = commands.add_parser("forecast", help="forecast the planned weeks' HH with intervals")
    fc.set_defaults(run=_forecast)

    rep = commands.add_parser(
        "report", help="chart forecasts vs actuals, errors, drift and champions (HTML)"
    )
    rep.add_argument(
        "--out",
        type=Path,
        help="write the HTML page to this file only (no lake, no Prefect artifact)",
    )
    rep.set_defaults(run=_report)

    models = commands.add_parser("models", help="list the model registry (ml.models)")
    models.add_argument("--rows", type=int, default=30, help="rows to print at most")
    models.set_defaults(run=_models)

    back = commands.add_parser("rollback", help="give the champion's place back to its predecessor")
    back.add_argument("--note", default="", help="why, kept in ml.promotions")
    back.add_argument("--by", default=os.environ.get("USER", "cli"), help="who decides")
    back.set_defaults(run=_rollback)

    sql = commands.add_parser("sql", help="run a read-only SQL query on the warehouse's replica")
    sql.add_argument("query", help='e.g. "select * from meta.ingested_files limit 5"')
    sql.add_argument("--rows", type=int, default=50, help="rows to print at most")
    sql.add_argument(
        "--live",
        action="store_true",
        help="read the writer's file instead of the replica (waits while a flow is writing)",
    )
    sql.set_defaults(run=_sql)

    demo = commands.add_parser(
        "demo",
        help=f"generate the medium sample into {DEMO_DIR / 'landing'} if absent, then run the "
        "pipeline",
    )
    demo.add_argument("--preset", choices=["small", "medium", "large"], default="medium")
    demo.add_argument(
        "--live", action="store_true",
        help=f"the loop running by itself: start the stack, then deliver a week of exports "
        f"into {LIVE_DIR / 'landing'} every --every seconds for the deployed pipeline",
    )  # fmt: skip
    demo.add_argument("--every", type=_seconds, default=30.0,
                      help="--live: seconds between deliveries (default 30)")  # fmt: skip
    demo.add_argument("--weeks", type=int, help="--live: stop after N weeks (default: all)")
    demo.add_argument(
        "--review",
        action="store_true",
        help="--live: each training waits for your approval in the UI",
    )
    demo.add_argument(
        "--drift-from",
        type=date.fromisoformat,
        help="--live: the Monday the drift starts (default: the preset's)",
    )
    demo.add_argument("--dir", type=Path, default=LIVE_DIR,
                      help=f"--live: the demo's own folder (default {LIVE_DIR})")  # fmt: skip
    demo.add_argument("--port", type=int, default=DEFAULT_PORT,
                      help="--live: the port of the stack it starts")  # fmt: skip
    demo.set_defaults(run=_demo)

    stack = commands.add_parser(
        "stack", help="serve it all: a Prefect server, the deployments and a worker (Ctrl-C stops)"
    )
    stack.add_argument(
        "action", nargs="?", choices=["start", "stop", "status"], default="start",
        help="start (the default, in the foreground), stop the running one, or say if one runs",
    )  # fmt: skip
    stack.add_argument("--port", type=int, default=DEFAULT_PORT, help="the server's port")
    stack.set_defaults(run=_stack)
    return parser


def _generate(args: argparse.Namespace) -> int:
    from hhcast.sample import generate

    try:
        report = generate(
            args.out,
            preset=args.preset,
            seed=args.seed,
            start=args.start,
            end=args.end,
            drift_from=args.drift_from,
            drift_factor=args.drift_factor,
            plan_weeks=args.plan_weeks,
        )
    except ValueError as exc:  # a range, factor or plan the preset cannot give
        print(f"hhcast generate: {exc}", file=sys.stderr)
        return CONFIGURATION
    plans = (
        f"; {report.plan_issues} flight-plan issues, {report.plan_rows:,} plan rows, planning "
        f"{report.planned[0]} to {report.planned[1]}"
        if report.planned
        else ""
    )
    print(
        f"wrote {report.files} files to {report.out / 'landing'} ({report.event_rows:,} event "
        f"rows, {report.utilization_rows:,} utilisation rows, {report.span[0]} to {report.span[1]}"
        f"{plans}); truth in {report.out / 'truth'}"
    )
    return 0


def _ingest(args: argparse.Namespace) -> int:
    summary, failed = _run_ingest(args.source)
    print(summary.render())
    return 1 if failed else 0


def _run_ingest(source: str | None) -> tuple[IngestSummary, bool]:
    """Run the ingest flow; return its summary and whether any file was rejected."""
    from flows.ingest import ingest

    return _run(ingest, source=source)


def _run(flow, **parameters):
    """Run `flow` in this process: its summary and whether it failed; a crash (not a
    reported failure) is raised.

    On a Prefect server (the stack's or the user's) the run's page is named first.
    """
    with in_process_run():
        state = flow(**parameters, return_state=True)

    from flows.stack_state import run_link
    from tasks.states import value_of

    link = run_link(state.state_details.flow_run_id)
    if link:
        print(f"run: {link}")
    return value_of(state), state.is_failed()


def _transform(args: argparse.Namespace) -> int:
    from flows.transform import transform

    summary, failed = _run(transform, full_refresh=args.full_refresh)
    print(summary.headline())
    for problem in summary.failed:
        print(f"  failed: {problem}")
    return 1 if failed else 0


def _pipeline(args: argparse.Namespace) -> int:
    from flows.pipeline import pipeline

    summary, failed = _run(
        pipeline, source=args.source, full_refresh=args.full_refresh, promotion=args.promotion
    )
    _print_pipeline(summary)
    return 1 if failed else 0


def _retrain(args: argparse.Namespace) -> int:
    from flows.retrain import retrain

    summary, failed = _run(retrain, files=args.files, promotion=args.promotion)
    _print_pipeline(summary)
    return 1 if failed else 0


def _print_pipeline(summary) -> None:
    print(summary.ingest.render())
    print(summary.transform.headline())
    for problem in summary.transform.failed:
        print(f"  failed: {problem}")
    if summary.monitored:
        print(f"monitor: {summary.monitored.headline()}")
    print(f"train: {summary.training_line()}")
    print(f"champion: {summary.champion_line()}")
    if summary.forecast:
        _print_forecast(summary.forecast)


def _print_forecast(summary, label: str = "forecast: ") -> None:
    import polars as pl

    print(f"{label}{summary.headline()}")
    if summary.forecast_id:
        with pl.Config(
            tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200,
            tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
        ):  # fmt: skip
            print(pl.DataFrame(summary.table()))


def _train(args: argparse.Namespace) -> int:
    from flows.train import train_models

    summary, failed = _run(
        train_models, dataset_version=args.dataset_version, promotion=args.promotion
    )
    print(summary.headline())
    return 1 if failed else 0


def _forecast(args: argparse.Namespace) -> int:
    from flows.forecast import forecast

    summary, failed = _run(forecast)
    _print_forecast(summary)
    return 1 if failed or summary.forecast_id is None else 0


def _report(args: argparse.Namespace) -> int:
    from hhcast.config import load_settings

    settings = load_settings()
    if _missing_warehouse("report", settings, "run `hhcast run` (or `hhcast demo`) first"):
        return CONFIGURATION
    if args.out is None:
        from flows.report import report

        summary, failed = _run(report)
        print(summary.headline())
        return 1 if failed else 0

    from tasks.report import make_report
    from tasks.reports.report import render_html

    html = render_html(make_report(settings))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(html, encoding="utf-8")
    print(f"report written to {args.out} ({len(html) / 1e6:.1f} MB); open it in a browser")
    return 0


def _missing_warehouse(command: str, settings, then: str) -> bool:
    """True, said on stderr with what to do, when the warehouse does not exist: a command
    that only reads it or changes a decision in it never creates one."""
    if settings.warehouse.path.exists():
        return False
    print(
        f"hhcast {command}: warehouse {settings.warehouse} does not exist yet: {then}",
        file=sys.stderr,
    )
    return True


def _models(args: argparse.Namespace) -> int:
    import polars as pl

    from hhcast.config import load_settings
    from tasks.ml.registry import list_models

    # the replica, as `hhcast sql` reads it: the live file is locked while a flow writes it
    with _reading(load_settings().warehouse, "models") as con:
        table = list_models(con)
    with pl.Config(tbl_rows=args.rows, tbl_cols=-1, fmt_str_lengths=40, tbl_width_chars=200):
        print(table)
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from hhcast.config import load_settings
    from tasks.ml.registry import RegistryError, decide, rollback_decision
    from warehouse.connection import connect, ensure_schema, writer_lock
    from warehouse.replica import publish

    settings = load_settings()
    if _missing_warehouse("rollback", settings, "there is no champion to roll back"):
        return CONFIGURATION
    wait = settings.warehouse.writer_lock_timeout_seconds
    with (
        writer_lock(settings.warehouse, timeout=wait),
        connect(settings.warehouse, timeout=wait) as con,
    ):
        ensure_schema(con)
        try:
            decision = rollback_decision(con, decided_by=args.by, note=args.note)
            decide(con, decision, run_id=None)
        except RegistryError as exc:
            print(f"hhcast rollback: {exc}", file=sys.stderr)
            return 2
        publish(con, settings.warehouse, published_by="rollback")
    print(f"champion is now {decision.champion_after} (was {decision.from_model})")
    return 0


def _sql(args: argparse.Namespace) -> int:
    import duckdb
    import polars as pl

    from hhcast.config import load_settings

    with _reading(load_settings().warehouse, "sql", live=args.live) as con:
        try:
            frame = con.sql(args.query).pl()
        except duckdb.Error as exc:
            print(f"hhcast sql: {exc}", file=sys.stderr)
            return 2
    with pl.Config(tbl_rows=args.rows, tbl_cols=-1, fmt_str_lengths=80, tbl_width_chars=200):
        print(frame)
    return 0


@contextmanager
def _reading(warehouse, command: str, live: bool = False) -> Iterator:
    """A read-only connection to the replica (saying when it lags), or with `live` to the
    warehouse itself."""
    from warehouse.connection import connect

    source = warehouse.path if live else _replica_to_read(warehouse, command)
    with connect(source, read_only=True) as con:
        if source != warehouse.path:
            _say_how_old(warehouse, con, command)
        yield con


def _replica_to_read(warehouse, command: str) -> Path:
    """The replica, or the live file (saying so) when there is none yet."""
    replica = warehouse.replica_path
    if replica is not None and replica.exists():
        return replica
    if warehouse.path.exists():  # else opening it says what to run first
        why = (
            "no replica is configured (warehouse.replica)"
            if replica is None
            else f"no replica at {replica} yet (each flow publishes it when it finishes)"
        )
        print(
            f"hhcast {command}: {why}: reading the live warehouse {warehouse.path}",
            file=sys.stderr,
        )
    return warehouse.path


def _say_how_old(warehouse, con, command: str) -> None:
    """One line on stderr when the replica is older than the warehouse's last commit."""
    from warehouse.replica import lag, read_stamp

    stamp = read_stamp(con)
    if stamp is None:
        print(
            f"hhcast {command}: {warehouse.replica_path} has no meta.replica row, so it is no "
            "replica hhcast published; reading it anyway",
            file=sys.stderr,
        )
        return
    if stamp.source_file != str(warehouse.path.resolve()):  # two warehouses, one replica name
        print(
            f"hhcast {command}: {warehouse.replica_path} was published from "
            f"{stamp.source_file}, not from {warehouse.path}; give each warehouse its own "
            "warehouse.replica",
            file=sys.stderr,
        )
        return
    behind = lag(warehouse, stamp)
    if behind is not None:
        published = stamp.published_at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        print(
            f"hhcast {command}: the replica ({stamp.published_by}, {published}) is "
            f"{_duration(behind)} older than the warehouse's last commit; a flow is writing "
            "or ended before publishing. `hhcast sql --live` reads the warehouse itself",
            file=sys.stderr,
        )


def _duration(span) -> str:
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 1)} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _seconds(text: str) -> float:
    seconds = float(text)
    if not seconds >= 0:  # NaN too
        raise argparse.ArgumentTypeError(f"{text} is no number of seconds >= 0")
    return seconds


def _demo(args: argparse.Namespace) -> int:
    if args.live:
        return _live_demo(args)
    from flows.pipeline import pipeline
    from hhcast.config import load_settings
    from hhcast.sample import generate

    landing = DEMO_DIR / "landing"
    if not landing.exists():
        print(f"generating the {args.preset} sample into {landing} ...", flush=True)
        generate(DEMO_DIR, preset=args.preset)
    summary, failed = _run(pipeline, source=str(landing))
    settings = load_settings()
    version = summary.transform.version
    print()
    print("hhcast demo")
    print(f"  landing    {landing}")
    print(f"  ingest     {summary.ingest.headline()}")
    print(f"  transform  {summary.transform.headline()}")
    if version:
        print(f"  weeks      {version.weeks} weeks, {version.first_week} to {version.last_week}")
    if summary.monitored:
        print(f"  monitor    {summary.monitored.headline()}")
    print(f"  train      {summary.training_line()}")
    print(f"  champion   {summary.champion_line()}")
    if summary.forecast:
        _print_forecast(summary.forecast, label="  forecast   ")
    print(f"  warehouse  {settings.warehouse}")
    if settings.warehouse.replica_path is not None:
        print(f"  replica    {settings.warehouse.replica_path} (what hhcast sql reads)")
    print(f"  lake       {settings.lake} (archive/, datasets/, models/)")
    print(
        '  try        hhcast sql "select week_start, acft, sum_daily_hours, cycles, hh '
        'from marts.features_weekly where is_complete order by week_start desc limit 8"'
    )
    print(
        '             hhcast sql "select week_start, horizon_weeks, acft, sum_daily_hours, '
        'plan_issued_at, is_complete from marts.features_weekly_plan order by week_start"'
    )
    print(
        '             hhcast sql "select week_start, horizon_weeks, hh_pred, hh_lower_80, '
        "hh_upper_80 from ml.predictions where plan_file <> 'what-if' order by made_at desc, "
        'week_start limit 8"'
    )
    print("             hhcast models")
    return 1 if failed else 0


def _live_demo(args: argparse.Namespace) -> int:
    from flows.live_demo import LiveDemoError, LiveOptions, run_live

    options = LiveOptions(
        folder=args.dir, every=args.every, weeks=args.weeks, preset=args.preset,
        review=args.review, port=args.port, drift_from=args.drift_from,
    )  # fmt: skip
    try:
        return run_live(options)
    except LiveDemoError as exc:
        print(f"hhcast demo --live: {exc}", file=sys.stderr)
        return CONFIGURATION


def _stack(args: argparse.Namespace) -> int:
    from flows import stack

    if args.action == "stop":
        return stack.stop()
    if args.action == "status":
        return stack.status()
    return stack.start(port=args.port)


if __name__ == "__main__":
    executable()
