"""Time building the report (tables, charts, HTML page, PNGs) on a sample's warehouse.

    ./dev python bench/report.py [--preset medium] [--weeks 8] [--repeat 3]

1. The warehouse (built once into bench/.cache/report-<preset>/): the preset's exports up to
   `--weeks` weeks before its end, then each following week delivered on its own (the month's
   exports again and the week's flight-plan issue), the pipeline run after every delivery, so
   the monitoring tables hold a row per weekly run. Training uses the naive and ridge
   candidates only: what is timed here is the report, not the models.
2. Each step of `hhcast report` without Prefect, `--repeat` times: reading the tables, the
   four charts, the HTML page (vl-convert's Vega bundle built once per process, timed apart)
   and the four PNGs. Prints seconds per step, the tables' rows and the files' sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flows.scratch import QUICK_CANDIDATES

BENCH = Path(__file__).resolve().parent


def point_at(home: Path) -> None:
    """Every HHCAST_* location under `home`, and the quick candidates."""
    os.environ.update(
        {
            "HHCAST_LANDING": str(home / "landing"),
            "HHCAST_LAKE": str(home / "lake"),
            "HHCAST_WAREHOUSE": str(home / "warehouse" / "hhcast.duckdb"),
            "HHCAST_TRAINING__CANDIDATES": QUICK_CANDIDATES,
        }
    )
    # as the CLI does (flows/console.py): Prefect's temporary API starts slowly on a busy machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def deliver_weekly(home: Path, preset: str, weeks: int) -> None:
    """The preset's exports up to `weeks` weeks before its end, then one week at a time, the
    pipeline after each."""
    from flows.pipeline import pipeline
    from hhcast.sample import generate
    from hhcast.sample.presets import PRESETS
    from tasks.states import outcome_of

    last_sunday = PRESETS[preset].end - timedelta(days=(PRESETS[preset].end.weekday() + 1) % 7)
    ends = [last_sunday - timedelta(weeks=k) for k in range(weeks, -1, -1)]
    for number, end in enumerate(ends):
        started = time.perf_counter()
        # later deliveries carry the exports of the week's months again, the new week in them
        monday = end - timedelta(days=6)
        start = None if number == 0 else date(monday.year, monday.month, 1)
        generate(home, preset=preset, seed=7, start=start, end=end)
        summary = outcome_of(pipeline(return_state=True))
        headline = summary.headline() if hasattr(summary, "headline") else summary
        print(f"delivered to {end} ({time.perf_counter() - started:.0f} s): {headline}")


def time_report(repeat: int) -> None:
    """Each step of the report, `repeat` times, with the tables' rows and the output sizes."""
    from hhcast.config import load_settings
    from tasks.reports.report import build_report, render_html, render_png
    from tasks.reports.tables import read_tables
    from tasks.reports.vega_bundle import vega_bundle
    from warehouse.connection import locked

    settings = load_settings()
    started = time.perf_counter()
    vega_bundle()
    print(f"Vega bundle (from the cache after a first run): {time.perf_counter() - started:.2f} s")
    steps: dict[str, list[float]] = {"read": [], "charts": [], "html": [], "pngs": [], "all": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        with locked(settings.warehouse) as con:
            tables = read_tables(con, settings.reports.weeks)
        t1 = time.perf_counter()
        report = build_report(
            tables, settings.reports, settings.monitoring.windows, datetime.now(UTC)
        )
        t2 = time.perf_counter()
        html = render_html(report)
        t3 = time.perf_counter()
        pngs = {f.key: render_png(f, settings.reports.png_scale) for f in report.figures}
        t4 = time.perf_counter()
        for name, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True):
            steps[name].append(seconds)
    rows = ", ".join(f"{name} {frame.height:,}" for name, frame in vars(tables).items())
    print(f"tables: {rows}")
    for name, times in steps.items():
        print(f"{name:>7}: median {statistics.median(times):.2f} s (min {min(times):.2f})")
    sizes = ", ".join(f"{key} {len(png) / 1e3:,.0f} KB" for key, png in pngs.items())
    print(f"HTML {len(html.encode()) / 1e6:.2f} MB; PNGs {sizes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--weeks", type=int, default=8, help="weekly deliveries after the first")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    home = BENCH / ".cache" / f"report-{args.preset}-{args.weeks}"
    point_at(home)
    built = home / "built"
    if not built.exists():
        deliver_weekly(home, args.preset, args.weeks)
        built.touch()
    print(f"warehouse {home / 'warehouse' / 'hhcast.duckdb'}")
    time_report(args.repeat)


if __name__ == "__main__":
    main()
