"""Each business rule of DOMAIN.md, applied by the staging models to hand-made raw rows."""

from __future__ import annotations

from datetime import date

import pytest
from raw_rows import event, flight

from warehouse.connection import connect

EVENTS = "select registration, hh from staging.stg_unscheduled_events order by all"


def test_crew_reports_administrative_rows_and_other_types_are_not_findings(raw):
    raw.add(
        events=[
            event(reg="PR-GAA", hh=1.0),
            event(reg="PR-GAB", hh=2.0, sign="PILOT"),
            event(reg="PR-GAC", hh=3.0, sign="cabin"),
            event(reg="PR-GAD", hh=4.0, desc="ADMINISTRATIVE - GENERAL"),
            event(reg="PR-MAA", hh=5.0, kind="A320"),
            event(reg="PR-GAE", hh=6.0, desc=None),
        ]
    )
    raw.build()
    assert raw.query(EVENTS) == [("PR-GAA", 1.0), ("PR-GAE", 6.0)]


def test_executed_hh_of_zero_falls_back_to_planned(raw):
    raw.add(events=[event(hh=0.0, planned=2.5), event(reg="PR-GAB", hh=1.25, planned=9.0)])
    raw.build()
    assert raw.query(EVENTS) == [("PR-GAA", 2.5), ("PR-GAB", 1.25)]


def test_rows_repeated_across_overlapping_exports_count_once(raw):
    twin = {"day": date(2024, 1, 31), "hh": 1.5}
    raw.add(
        events=[
            event(**twin, file="jan.xlsx", row=2),
            event(**twin, file="feb.xlsx", row=9),  # the overlap of the next month's export
            event(**twin, file="jan.xlsx", row=3),  # a second, real item in the same file
            event(hh=1.5 + 1e-11, day=date(2024, 1, 30), file="feb.xlsx"),
            event(hh=1.5, day=date(2024, 1, 30), file="jan.xlsx"),  # the same to 1e-9 h
        ]
    )
    raw.build()
    days = raw.query(
        "select closing_date, count(*) from staging.stg_unscheduled_events group by 1 order by 1"
    )
    assert days == [(date(2024, 1, 30), 1), (date(2024, 1, 31), 2)]


def test_a_row_counts_as_often_as_the_file_holding_it_most_often(raw):
    raw.add(
        events=[
            # two real items in January's export, one of them again in February's
            *[
                event(day=date(2024, 1, 29), file=f, row=r)
                for f, r in [("jan", 2), ("jan", 3), ("feb", 2)]
            ],
            # one in each of three exports: one item
            *[event(day=date(2024, 1, 30), file=f) for f in ["jan", "feb", "mar"]],
            # February holds three, January and March one: three items
            *[
                event(day=date(2024, 1, 31), file=f, row=r)
                for f, r in [("jan", 2), ("feb", 2), ("feb", 3), ("feb", 4), ("mar", 2)]
            ],
        ]
    )
    raw.build()
    days = raw.query(
        "select closing_date, count(*), min(source_file) from staging.stg_unscheduled_events "
        "group by 1 order by 1"
    )
    assert days == [
        (date(2024, 1, 29), 2, "feb"),
        (date(2024, 1, 30), 1, "feb"),
        (date(2024, 1, 31), 3, "feb"),
    ]


def test_a_raw_row_from_a_file_the_ingestion_log_lacks_still_counts_without_a_name(raw):
    # Put in raw.* behind ingestion's back: counted all the same, its file unnamed.
    raw.add(events=[event(file="jan.xlsx", hh=2.0), event(file="feb.xlsx", hh=3.0)])
    with connect(raw.settings.warehouse) as con:
        con.execute("delete from meta.ingested_files where uri = 'jan.xlsx'")
    raw.build()
    rows = raw.query("select hh::double, source_file from staging.stg_unscheduled_events")
    assert sorted(rows, key=str) == [(2.0, None), (3.0, "feb.xlsx")]


def test_flying_days_repeated_across_overlapping_exports_count_once(raw):
    raw.add(
        flights=[
            flight(day=date(2024, 1, 31), file="jan.csv"),
            flight(day=date(2024, 1, 31), file="feb.csv", row=40),  # the overlap
            flight(day=date(2024, 1, 30), file="jan.csv"),
            flight(day=date(2024, 1, 30), hours=9.0, file="feb.csv"),  # a different value
        ]
    )
    raw.build()
    rows = raw.query(
        "select dep_date, block_hours::double, source_file "
        "from staging.stg_aircraft_utilization order by all"
    )
    assert rows == [
        (date(2024, 1, 30), 8.0, "jan.csv"),
        (date(2024, 1, 30), 9.0, "feb.csv"),
        (date(2024, 1, 31), 8.0, "feb.csv"),
    ]


def test_placeholder_rows_and_other_types_leave_utilization(raw):
    raw.add(
        flights=[
            flight(hours=8.0),
            flight(
                day=None, reg=None, kind=None, hours=None, cycles=None, tah=None, placeholder=True
            ),
            flight(reg="PR-MAA", kind="A320"),
            flight(day=date(2024, 1, 4), file="u1.csv"),
            flight(day=date(2024, 1, 4), file="u1 copy.csv"),  # the same export twice
        ]
    )
    raw.build()
    rows = raw.query(
        "select dep_date, registration, block_hours "
        "from staging.stg_aircraft_utilization order by 1"
    )
    assert rows == [(date(2024, 1, 3), "PR-GAA", 8.0), (date(2024, 1, 4), "PR-GAA", 8.0)]


@pytest.mark.parametrize("setting", ["HHCAST_FILTERS__EXCLUDED_SIGNS=[PILOT]"])
def test_rules_follow_the_config(settings, monkeypatch, setting):
    from raw_rows import RawWarehouse

    from hhcast.config import load_settings

    name, value = setting.split("=")
    monkeypatch.setenv(name, value)
    raw = RawWarehouse(load_settings())
    raw.add(events=[event(reg="PR-GAB", sign="PILOT"), event(reg="PR-GAC", sign="CABIN")])
    raw.build()
    assert raw.query(EVENTS) == [("PR-GAC", 1.0)]
