"""hhcast/deliveries.py: the live demo's weeks, and one week's delivery as a plant hands it over."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from hhcast.deliveries import Drift, WeeklyDeliveries, live_deliveries, mondays
from hhcast.sample import PRESETS


def test_the_live_weeks_follow_the_history_monday_after_monday_to_the_presets_end():
    plan = live_deliveries("small")
    assert plan.history_end.weekday() == 6  # a Sunday
    assert plan.weeks[0] == plan.history_end + timedelta(days=1)
    assert all(
        b - a == timedelta(weeks=1) for a, b in zip(plan.weeks[:-1], plan.weeks[1:], strict=True)
    )
    assert plan.weeks[-1] + timedelta(days=6) <= PRESETS["small"].end
    assert plan.weeks[-1] + timedelta(days=13) > PRESETS["small"].end  # no whole week left out
    assert plan.drift is not None and plan.drift.starts in plan.weeks


def test_weeks_and_drift_start_can_be_chosen_within_the_delivered_weeks():
    plan = live_deliveries("medium", weeks=3, drift_from=date(2025, 3, 10))
    assert plan.weeks == mondays(date(2025, 3, 3), 3)
    assert plan.drift == Drift(date(2025, 3, 10), 1.3)


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ({"weeks": 0}, "pick 1 to 17"),
        ({"weeks": 18}, "pick 1 to 17"),
        ({"drift_from": date(2022, 3, 2)}, "must start on a Monday"),  # a Wednesday
        ({"drift_from": date(2022, 2, 21)}, "2022-02-28 to 2022-06-20"),  # in the history
        ({"weeks": 2, "drift_from": date(2022, 3, 14)}, "2022-02-28 to 2022-03-07"),
    ],
)
def test_weeks_or_a_drift_the_sample_cannot_deliver_are_refused_saying_what_fits(asked, message):
    with pytest.raises(ValueError, match=message):
        live_deliveries("small", **asked)


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="unknown preset 'tiny'"):
        live_deliveries("tiny")


def test_a_delivery_is_its_month_so_far_and_that_mondays_flight_plan(tmp_path):
    monday = date(2022, 3, 14)
    plan = WeeklyDeliveries("small", 7, monday - timedelta(days=1), (monday,),
                            Drift(date(2022, 2, 28), 1.3))  # fmt: skip
    report = plan.deliver(tmp_path, monday)
    manifest = json.loads((tmp_path / "truth" / "manifest.json").read_text())
    assert manifest["range"] == {"start": "2022-03-01", "end": "2022-03-20"}
    assert manifest["drift"] == {"from": "2022-02-28", "factor": 1.3}
    assert manifest["plans"]["first_planned_week"] == "2022-03-21"
    assert report.span == (date(2022, 3, 1), date(2022, 3, 20))
    assert report.plan_issues > 0
