"""The weekly table's completeness: a week counts only inside the span both sources cover."""

from __future__ import annotations

from datetime import date, timedelta

from raw_rows import event, flight

from tasks.marts.build import BuildPlan
from tasks.marts.versions import record_version
from warehouse.connection import connect


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_coverage_ends_on_the_last_day_with_both_flying_and_hh(raw, settings):
    raw.add(
        flights=[flight(day=d) for d in days(date(2024, 1, 1), date(2024, 3, 10))],
        events=[
            *(event(day=d, hh=1.0) for d in days(date(2024, 1, 1), date(2024, 2, 28))),
            event(day=date(2024, 2, 29), hh=0.0),  # a work item without HH covers nothing
        ],
    )
    raw.build()
    complete = raw.query("select week_start from marts.features_weekly where is_complete")
    # February is not covered to its end, so only the weeks of January are complete.
    assert complete == [(date(2024, 1, d),) for d in (1, 8, 15, 22)]
    with connect(settings.warehouse) as con:
        record_version(con, BuildPlan("full", "test", "fingerprint", []), settings)
    assert raw.query("select coverage_end from meta.dataset_versions") == [(date(2024, 2, 28),)]
