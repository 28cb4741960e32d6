"""Generate a deterministic sample delivery: raw exports in landing/, the answer key in truth/."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hhcast.sample.catalog import STUDIED_TYPE
from hhcast.sample.exports import ExportedFile, write_events, write_utilization
from hhcast.sample.fleet import expected_hh, simulate_fleet
from hhcast.sample.presets import PRESETS
from hhcast.sample.truth import TRUTH_FILE, weekly_expected_hh, write_truth
from hhcast.sample.workorders import work_orders

MANIFEST_FILE = "truth/manifest.json"


@dataclass(frozen=True)
class GenerationReport:
    """What one `generate` call wrote."""

    out: Path
    preset: str
    seed: int
    files: int  # landing files written
    event_rows: int  # data rows over all events files, overlap duplicates included
    utilization_rows: int  # data rows over all utilisation files, placeholders included
    bad_rows: int  # deliberately corrupted rows, listed in the manifest
    span: tuple[date, date]  # first and last date emitted


def generate(
    out: Path,
    preset: str = "medium",
    seed: int = 7,
    start: date | None = None,
    end: date | None = None,
    drift_from: date | None = None,
    drift_factor: float = 1.0,
) -> GenerationReport:
    """Simulate a preset's whole span and write the exports for [start, end] under `out`.

    The same preset and seed always give the same world, so a later range can be delivered
    after an earlier one. From `drift_from` on, block hours cause `drift_factor` times their
    usual work. The truth covers the whole span whatever the range; the manifest lists every
    landing file this call wrote, with its data rows and deliberately bad cells.
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

    out = Path(out)
    fleet = simulate_fleet(spec, seed)
    expected = expected_hh(fleet, drift_from, drift_factor)
    events = work_orders(fleet, expected, seed)
    written = [
        *write_events(events, out, seed, first, last),
        *write_utilization(fleet, out, seed, first, last),
    ]
    weekly = weekly_expected_hh(fleet, expected)
    write_truth(weekly, out)
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
        "files": [_manifest_entry(f) for f in written],
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    def rows_of(source: str) -> int:
        return sum(f.data_rows for f in written if f.source == source)

    return GenerationReport(
        out=out,
        preset=preset,
        seed=seed,
        files=len(written),
        event_rows=rows_of("events_unscheduled"),
        utilization_rows=rows_of("aircraft_utilization"),
        bad_rows=sum(len(f.bad_rows) for f in written),
        span=(
            min((f.first_date for f in written), default=first),
            max((f.last_date for f in written), default=last),
        ),
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
