"""Volume checks: weeks with fewer or more aircraft-days or work items than training saw."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from tasks.monitoring.volume import volume_checks


def weeks(acft: list[int], work_items: list[int] | None = None, start=date(2024, 1, 1)):
    frame = pl.DataFrame(
        {"week_start": [start + timedelta(weeks=i) for i in range(len(acft))], "acft": acft}
    )
    return frame if work_items is None else frame.with_columns(work_items=pl.Series(work_items))


def test_weeks_outside_the_training_range_are_named():
    reference = weeks([300, 320, 350], [900, 1000, 1100])
    current = weeks([310, 120, 351], [950, 400, 1000], start=date(2025, 1, 6))
    by_measure = {r["measure"]: r for r in volume_checks(reference, {"last_13_weeks": current})}
    days = by_measure["aircraft_days"]
    assert (days["status"], days["weeks_outside"]) == ("outside", 2)
    assert days["outside_weeks"] == ["2025-01-13", "2025-01-20"]
    assert (days["reference_min"], days["reference_max"]) == (300.0, 350.0)
    items = by_measure["work_items"]
    assert (items["status"], items["outside_weeks"]) == ("outside", ["2025-01-13"])


def test_weeks_inside_the_range_are_ok_and_planned_weeks_have_no_work_items():
    reference = weeks([300, 350], [900, 1100])
    checks = volume_checks(
        reference, {"last_13_weeks": weeks([300, 350], [900, 1100]), "planned": weeks([320])}
    )
    assert [(c["window_name"], c["measure"], c["status"]) for c in checks] == [
        ("last_13_weeks", "aircraft_days", "ok"),
        ("last_13_weeks", "work_items", "ok"),
        ("planned", "aircraft_days", "ok"),
    ]


def test_a_margin_widens_the_range_for_a_fleet_that_grows():
    reference = weeks([300, 350])
    grown = weeks([380], start=date(2025, 1, 6))  # 8.6 % above the training weeks' most
    (strict,) = volume_checks(reference, {"last_13_weeks": grown})
    (lenient,) = volume_checks(reference, {"last_13_weeks": grown}, margin=0.15)
    assert (strict["status"], lenient["status"]) == ("outside", "ok")
    assert lenient["reference_max"] == 350 * 1.15
