"""Generate a deterministic sample delivery: raw exports in landing/, the answer key in truth/.

A delivery holds the actuals for a range and the flight plans issued on the Mondays before
it: the newest issue, dated on the Monday after the last complete actual week, plans the
weeks that follow (see plans.py). Planned weeks may lie past the preset's end: the world is
then flown on (fleet_future.py) without changing a value inside its span.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from hhcast.sample.catalog import STUDIED_TYPE
from hhcast.sample.exports import ExportedFile, write_events, write_utilization
from hhcast.sample.fleet import expected_hh, simulate_fleet
from hhcast.sample.fleet_future import extend_fleet
from hhcast.sample.plan_exports import write_flight_plans
from hhcast.sample.plans import MAX_PLAN_WEEKS, first_planned_monday, issue_dates, plan_issue
from hhcast.sample.presets import PRESETS
from hhcast.sample.truth import (
    PLAN_TRUTH_FILE,
    TRUTH_FILE,
    plan_expected_hh,
    weekly_expected_hh,
    weekly_usage,
    write_truth,
)
from hhcast.sample.workorders import work_orders

MANIFEST_FILE = "truth/manifest.json"


@dataclass(frozen=True)
class GenerationReport:
    """What one `generate` call wrote."""

    out: Path
    preset: str
    seed: int
    files: int  # landing files written, flight plans included
    event_rows: int  # data rows over all events files, overlap duplicates included
    utilization_rows: int  # data rows over all utilisation files, placeholders included
    bad_rows: int  # deliberately corrupted rows, listed in the manifest
    span: tuple[date, date]  # first and last actual date emitted
    plan_issues: int = 0  # flight-plan files (one per issue)
    plan_rows: int = 0  # data rows over all flight-plan files, placeholders included
    planned: tuple[date, date] | None = None  # the newest issue's days: the weeks ahead


def generate(
    out: Path,
    preset: str = "medium",
    seed: int = 7,
    start: date | None = None,
    end: date | None = None,
    drift_from: date | None = None,
    drift_factor: float = 1.0,
    plan_weeks: int = 8,
) -> GenerationReport:
    """Simulate a preset's whole span and write the exports for [start, end] under `out`.

    The same preset and seed always give the same world, so a later range can be delivered
    after an earlier one. From `drift_from` on, block hours cause `drift_factor` times their
    usual work. With `plan_weeks` N > 0, the flight plans issued on the last N Mondays up to
    the first planned one each plan N weeks (0: no plans). The truth covers the whole span
    and the planned weeks whatever the range; the manifest lists every landing file this call
    wrote, with its data rows and deliberately bad cells.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    spec = PRESETS[preset]
    first, last = start or spec.start, end or spec.end
    if not spec.start <= first <= last <= spec.end:
        raise ValueError(
            f"range {first}..{last} is not within the {preset!r} preset's span "
            f"{spec.start}..{spec.end}; pick --start/--end inside it, start before end"
        )
    if not (math.isfinite(drift_factor) and drift_factor >= 0):
        raise ValueError(f"drift factor {drift_factor} must be a finite number >= 0")
    if not 0 <= plan_weeks <= MAX_PLAN_WEEKS:
        raise ValueError(f"plan weeks {plan_weeks} must be between 0 and {MAX_PLAN_WEEKS}")
    plan_start = first_planned_monday(last)
    issued = issue_dates(plan_start, plan_weeks)
    if issued and issued[0] <= spec.start:
        raise ValueError(
            f"the earliest of {plan_weeks} weekly plan issues, dated {issued[0]}, needs actuals "
            f"before it, but the {preset!r} preset starts on {spec.start}; pick a later --end "
            f"or fewer --plan-weeks"
        )

    out = Path(out)
    fleet = simulate_fleet(spec, seed)
    expected = expected_hh(fleet, drift_from, drift_factor)
    events = work_orders(fleet, expected, seed)
    written = [
        *write_events(events, out, seed, first, last),
        *write_utilization(fleet, out, seed, first, last),
    ]
    world, world_expected = fleet, expected
    if plan_weeks:
        world = extend_fleet(fleet, seed, plan_start + timedelta(weeks=plan_weeks, days=-1))
        world_expected = expected_hh(world, drift_from, drift_factor)
    issues = [plan_issue(world, seed, issued_at, plan_weeks) for issued_at in issued]
    plans = write_flight_plans(issues, out, seed)
    weekly = weekly_expected_hh(world, world_expected)
    write_truth(weekly, out)
    plan_truth = plan_expected_hh(
        issues, weekly_usage(world, world_expected), drift_from, drift_factor
    )
    write_truth(plan_truth, out, PLAN_TRUTH_FILE)
    manifest = {
        "preset": preset,
        "seed": seed,
        "studied_type": STUDIED_TYPE,
        "span": {"start": spec.start.isoformat(), "end": spec.end.isoformat()},
        "range": {"start": first.isoformat(), "end": last.isoformat()},
        "drift": {
            "from": drift_from.isoformat() if drift_from else None,
            "factor": drift_factor,
        },
        "truth": {"path": TRUTH_FILE, "weeks": weekly.height},
        "plans": {
            "weeks": plan_weeks,
            "issued": [d.isoformat() for d in issued],
            "first_planned_week": plan_start.isoformat() if issued else None,
            "truth": {"path": PLAN_TRUTH_FILE, "rows": plan_truth.height},
        },
        "files": [_manifest_entry(f) for f in [*written, *plans]],
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    def rows_of(source: str) -> int:
        return sum(f.data_rows for f in written if f.source == source)

    return GenerationReport(
        out=out,
        preset=preset,
        seed=seed,
        files=len(written) + len(plans),
        event_rows=rows_of("events_unscheduled"),
        utilization_rows=rows_of("aircraft_utilization"),
        bad_rows=sum(len(f.bad_rows) for f in [*written, *plans]),
        span=(
            min((f.first_date for f in written), default=first),
            max((f.last_date for f in written), default=last),
        ),
        plan_issues=len(plans),
        plan_rows=sum(f.data_rows for f in plans),
        planned=(plans[-1].first_date, plans[-1].last_date) if plans else None,
    )


def _manifest_entry(exported: ExportedFile) -> dict:
    return {
        "path": exported.path,
        "source": exported.source,
        "data_rows": exported.data_rows,
        "bad_rows": exported.bad_rows,
        "first_date": exported.first_date.isoformat(),
        "last_date": exported.last_date.isoformat(),
        **exported.details,
    }
