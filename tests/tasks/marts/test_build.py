"""Building models: a full table, or the window of an incremental one."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from raw_rows import RawWarehouse, event, flight

from tasks.marts.build import build_model
from tasks.marts.project import Window, discover
from warehouse.connection import connect

FEBRUARY = Window(start=date(2024, 1, 29), end=date(2024, 2, 25), lookback_start=date(2023, 1, 30))


def test_a_build_reports_the_rows_it_wrote(settings):
    raw = RawWarehouse(settings)
    days = [date(2024, 1, 3), date(2024, 1, 4), date(2024, 2, 7)]
    raw.add(events=[event(day=d) for d in days], flights=[flight(day=d) for d in days])
    raw.build()
    raw.add(flights=[flight(day=date(2024, 2, 8)), flight(day=date(2024, 2, 8), reg="PR-GAB")])
    models = {m.name: m for m in discover(settings)}
    with connect(settings.warehouse) as con:
        daily = models["intermediate.int_aircraft_daily"]
        run = build_model(con, daily, settings, FEBRUARY)
        assert (run.mode, run.rows) == ("incremental", 3)
        run = build_model(con, daily, settings, None)
        assert (run.mode, run.rows) == ("full", 5)
    assert raw.query(f"select count(*) from {daily.name}") == [(5,)]


def test_a_full_build_stores_an_incremental_table_in_key_order(settings):
    raw = RawWarehouse(settings)
    days = [date(2024, 3, 5), date(2024, 1, 3), date(2024, 2, 7), date(2024, 1, 4)]
    regs = ["PR-GAD", "PR-GAA", "PR-GAC", "PR-GAB"]
    raw.add(
        events=[event(day=d, reg=r) for d, r in zip(days, regs, strict=True)],
        flights=[flight(day=d, reg=r) for d, r in zip(reversed(days), regs, strict=True)],
    )
    raw.build()
    stored = raw.query("select day from intermediate.int_aircraft_daily order by rowid")
    assert stored == sorted(stored) and len(stored) == 8


def test_a_model_that_changes_from_view_to_table_is_rebuilt_as_a_table(settings, tmp_path):
    raw = RawWarehouse(settings)
    raw.add(events=[event(day=date(2024, 1, 3), hh=2.0)], flights=[flight(day=date(2024, 1, 3))])
    raw.build()
    as_view = next(m for m in discover(settings) if m.name == "staging.stg_unscheduled_events")
    model = replace(as_view, materialized="table")  # its first line changed to say so
    with connect(settings.warehouse) as con:
        build_model(con, as_view, settings, None)  # as a warehouse of an earlier release has it
        assert _kind(con, model.name) == "VIEW"
        run = build_model(con, model, settings, None)
        assert (_kind(con, model.name), run.rows) == ("BASE TABLE", 1)
        build_model(con, as_view, settings, None)  # and back
        assert _kind(con, model.name) == "VIEW"
    assert raw.query(f"select hh::double from {model.name}") == [(2.0,)]


def _kind(con, name: str) -> str:
    schema, table = name.split(".")
    return con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()[0]
