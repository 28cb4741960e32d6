"""How wrong the sample's flight plans are, by horizon: the calibration of plans.py in numbers.

    ./dev python bench/plan_error.py [--preset medium] [--seed 7] [--issues 104] [--weeks 8]

Issues the plan on each of the last `--issues` Mondays of the preset's span (the world flown on
past its end as `generate` does) and compares each planned week of the studied type with what
is actually flown: mean |planned - actual| weekly block hours, the same as a share of actual,
the mean signed share (plans are optimistic), and the mean |error| of expected HH under the plan.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

import polars as pl

from hhcast.sample.fleet import expected_hh, simulate_fleet
from hhcast.sample.fleet_future import extend_fleet
from hhcast.sample.plans import first_planned_monday, plan_issue
from hhcast.sample.presets import PRESETS
from hhcast.sample.truth import plan_expected_hh, weekly_usage


def main() -> None:
    """Print the plan error table for one preset and seed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium", choices=list(PRESETS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--issues", type=int, default=104)
    parser.add_argument("--weeks", type=int, default=8)
    args = parser.parse_args()

    started = time.perf_counter()
    spec = PRESETS[args.preset]
    newest = first_planned_monday(spec.end)
    fleet = simulate_fleet(spec, args.seed)
    world = extend_fleet(fleet, args.seed, newest + timedelta(weeks=args.weeks, days=-1))
    expected = expected_hh(world, None, 1.0)
    issued = [newest - timedelta(weeks=k) for k in range(args.issues - 1, -1, -1)]
    issues = [plan_issue(world, args.seed, day, args.weeks) for day in issued]
    plans = plan_expected_hh(issues, weekly_usage(world, expected), None, 1.0)
    error = plans.with_columns(
        hours=pl.col("sum_daily_hours") - pl.col("actual_sum_daily_hours"),
        hh=pl.col("expected_hh") - pl.col("actual_expected_hh"),
    )
    table = (
        error.group_by("horizon_weeks")
        .agg(
            weeks=pl.len(),
            actual_hours=pl.col("actual_sum_daily_hours").mean(),
            mean_abs_hours=pl.col("hours").abs().mean(),
            mean_abs_pct=(pl.col("hours").abs() / pl.col("actual_sum_daily_hours")).mean() * 100,
            mean_signed_pct=(pl.col("hours") / pl.col("actual_sum_daily_hours")).mean() * 100,
            mean_abs_hh=pl.col("hh").abs().mean(),
            mean_abs_hh_pct=(pl.col("hh").abs() / pl.col("actual_expected_hh")).mean() * 100,
        )
        .sort("horizon_weeks")
    )
    print(
        f"{args.preset} seed {args.seed}: {args.issues} issues of {args.weeks} weeks, "
        f"{issued[0]} to {issued[-1]} ({time.perf_counter() - started:.1f} s)"
    )
    with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=2, tbl_width_chars=200):
        print(table)


if __name__ == "__main__":
    main()
