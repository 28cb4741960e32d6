"""Data tests: all of a model's tests run in one query, each still counting its own rows."""

from __future__ import annotations

import json
from datetime import date

import pytest
from raw_rows import RawWarehouse, event, flight

from tasks.marts.data_tests import DataTest, DataTestError, discover_tests, run_tests
from tasks.marts.project import Window, discover
from warehouse.connection import connect

DAILY = "intermediate.int_aircraft_daily"
JANUARY = Window(start=date(2024, 1, 1), end=date(2024, 1, 28), lookback_start=date(2023, 1, 2))
MARCH = Window(start=date(2024, 3, 4), end=date(2024, 3, 31), lookback_start=date(2023, 3, 6))


@pytest.fixture
def built(settings) -> RawWarehouse:
    raw = RawWarehouse(settings)
    days = [date(2024, 1, d) for d in (3, 4, 10)] + [date(2024, 3, 5)]
    raw.add(
        events=[event(day=d, hh=1.5) for d in days],
        flights=[flight(day=d, hours=8.0) for d in days],
    )
    raw.build()
    return raw


def daily_tests(settings) -> list[DataTest]:
    return [t for t in discover_tests(discover(settings), settings) if t.model == DAILY]


def add_bad_daily_row(settings, day: date) -> None:
    """A second row for an aircraft-day that exists, with negative HH."""
    with connect(settings.warehouse) as con:
        con.execute(
            f"insert into {DAILY} select * replace (-2.0 as hh) from {DAILY} where day = ?", [day]
        )


def failing(results) -> dict[str, int]:
    return {r.name: r.failing_rows for r in results if not r.passed}


def test_each_test_counts_its_own_failing_rows_and_the_others_pass(settings, built):
    add_bad_daily_row(settings, date(2024, 1, 4))
    tests = daily_tests(settings)
    with connect(settings.warehouse) as con:
        results = run_tests(con, tests, settings)
    assert [r.name for r in results] == [t.name for t in tests]
    assert failing(results) == {"unique(day, registration)": 1, "accepted_range(hh, 0, None)": 1}
    bad = next(r for r in results if r.name.startswith("accepted_range(hh"))
    assert [float(row["hh"]) for row in json.loads(bad.sample)] == [-2.0]


def test_a_windowed_run_catches_a_bad_row_inside_the_window_only(settings, built):
    add_bad_daily_row(settings, date(2024, 3, 5))
    with connect(settings.warehouse) as con:
        inside = run_tests(con, daily_tests(settings), settings, MARCH)
        outside = run_tests(con, daily_tests(settings), settings, JANUARY)
    assert failing(inside) == {"unique(day, registration)": 1, "accepted_range(hh, 0, None)": 1}
    assert failing(outside) == {}


def test_tests_of_several_models_keep_their_order(settings, built):
    tests = discover_tests(discover(settings), settings)
    with connect(settings.warehouse) as con:
        results = run_tests(con, tests, settings, JANUARY)
    assert [(r.model, r.name) for r in results] == [(t.model, t.name) for t in tests]
    assert all(r.passed for r in results)


def test_a_test_that_cannot_run_is_named(settings, built):
    broken = DataTest("broken_check", DAILY, "select no_such_column from {{ this }}", "day")
    with (
        connect(settings.warehouse) as con,
        pytest.raises(DataTestError, match=f"broken_check on {DAILY}"),
    ):
        run_tests(con, [*daily_tests(settings), broken], settings, JANUARY)


def test_an_unknown_test_kind_names_the_model_it_was_given_for(settings, tmp_path):
    (tmp_path / "schema.yml").write_text(f"models:\n  {DAILY}:\n    uniq: [day]\n")
    with pytest.raises(ValueError, match=f"unknown test 'uniq' on {DAILY}"):
        discover_tests(discover(settings), settings, tmp_path)
