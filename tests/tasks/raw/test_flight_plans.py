"""Flight plans are a raw source like the others: told apart by header, dated by their issue,
checked row by row, loaded once, and every issue kept."""

from __future__ import annotations

import os
from datetime import date

import pytest
from builders import UTILIZATION_HEADER

from flows.ingest import prepare_warehouse
from hhcast.config import load_settings
from tasks.ingest import ingest_all
from tasks.raw.landing import list_landing
from tasks.raw.read import read_export
from warehouse.connection import connect

PLAN_HEADER = ["Dep. Date", "A/C", "AC-Type", "# per Day", "Hours", "Cycles", "Remarks"]
PLANNED = [
    ["2024.04.01", "PR-GAA", "B737NG", "5", "9:10", "5", ""],
    ["0 ", "", "", "", "", "", ""],  # a placeholder row, as utilisation exports have them
    ["2024.04.02", "PR-GAA", "B737NG", "1", "1:40", "", "Inspeção"],  # blank cycles: 1
    ["2024.04.03", "PR-GAB", "A320", "4", "07:30", "4", ""],
]
FLOWN = ["2024.03.29", "PR-GAA", "B737NG", "4", "7:30", "4", "23456:40", "12'345"]
TABLES = ("raw.flight_plan", "raw.aircraft_utilization", "meta.ingested_files", "meta.quarantine")


def ingest_landing(settings):
    """The ingest flow's steps without Prefect."""
    known = prepare_warehouse.fn(settings)
    return ingest_all(list_landing(settings), settings, known, as_tasks=False)


def query(settings, sql: str) -> list[tuple]:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def snapshot(settings) -> dict[str, list[tuple]]:
    return {t: sorted(query(settings, f"select * from {t}"), key=repr) for t in TABLES}


def test_a_plan_and_a_utilisation_file_in_one_landing_are_told_apart(
    settings, paths, utilization_csv
):
    plan = utilization_csv(
        paths["landing"] / "exports" / "flight_plan_issued_2024-04-01.csv",
        PLANNED,
        header=PLAN_HEADER,
    )
    # a utilisation header holds every column of a plan's, and more
    flown = utilization_csv(paths["landing"] / "exports" / "util_2024_03.csv", [FLOWN])
    read = {p.name: read_export(str(p), p.read_bytes(), settings) for p in (plan, flown)}
    assert (read[plan.name].source, read[plan.name].layout) == ("flight_plan", "standard")
    assert read[flown.name].source == "aircraft_utilization"
    assert "tah" not in read[plan.name].frame.columns

    outcomes = ingest_landing(settings)
    assert sorted((o.uri.rsplit("/", 1)[1], o.status, o.source) for o in outcomes) == [
        ("flight_plan_issued_2024-04-01.csv", "loaded", "flight_plan"),
        ("util_2024_03.csv", "loaded", "aircraft_utilization"),
    ]
    loaded = query(
        settings,
        "select dep_date, registration, flights, block_hours, cycles, is_placeholder, "
        "plan_issued_at, plan_issued_from, source_file, source_row from raw.flight_plan "
        "order by source_row",
    )
    issue = (date(2024, 4, 1), "file_name", str(plan))
    assert loaded == [
        (date(2024, 4, 1), "PR-GAA", 5, 9 + 10 / 60, 5, False, *issue, 2),
        (None, None, None, None, None, True, *issue, 3),  # the placeholder, flagged
        (date(2024, 4, 2), "PR-GAA", 1, 1 + 40 / 60, 1, False, *issue, 4),
        (date(2024, 4, 3), "PR-GAB", 4, 7.5, 4, False, *issue, 5),  # every type, as delivered
    ]
    assert query(settings, "select count(*) from raw.aircraft_utilization") == [(1,)]
    assert query(
        settings,
        "select first_date, last_date from meta.ingested_files where source = 'flight_plan'",
    ) == [(date(2024, 4, 1), date(2024, 4, 3))]


def test_without_a_date_in_its_name_an_issue_is_dated_by_its_earliest_planned_day(
    settings, paths, utilization_csv
):
    late_first = [PLANNED[1], PLANNED[3], PLANNED[0]]  # a placeholder first, days out of order
    utilization_csv(paths["landing"] / "programme.csv", late_first, header=PLAN_HEADER)
    utilization_csv(paths["landing"] / "issued_2024-13-01.csv", PLANNED, header=PLAN_HEADER)
    ingest_landing(settings)
    assert query(
        settings,
        "select distinct source_file, plan_issued_at, plan_issued_from from raw.flight_plan "
        "order by all",
    ) == [
        (str(paths["landing"] / "issued_2024-13-01.csv"), date(2024, 4, 1), "first_dep_date"),
        (str(paths["landing"] / "programme.csv"), date(2024, 4, 1), "first_dep_date"),
    ]


def test_the_issue_date_pattern_is_configuration(paths, utilization_csv, env, monkeypatch):
    monkeypatch.setenv(
        "HHCAST_SOURCES__FLIGHT_PLAN__ISSUED_AT_PATTERN", r"^FP(?P<issued_at>\d{2}\.\d{2}\.\d{4})"
    )
    settings = load_settings()
    utilization_csv(paths["landing"] / "FP29.03.2024 weekly.csv", PLANNED, header=PLAN_HEADER)
    ingest_landing(settings)
    dated = query(settings, "select distinct plan_issued_at, plan_issued_from from raw.flight_plan")
    assert dated == [(date(2024, 3, 29), "file_name")]


def test_bad_plan_cells_are_quarantined_and_the_rest_loads(settings, paths, utilization_csv):
    rows = [*PLANNED, ["2024.04.04", "PR-GAA", "B737NG", "5", "25:00", "5", ""]]
    rows.append(["2024.04.31", "PR-GAA", "B737NG", "5", "9:00", "5", ""])
    plan = utilization_csv(
        paths["landing"] / "flight_plan_issued_2024-04-01.csv", rows, header=PLAN_HEADER
    )
    (outcome,) = ingest_landing(settings)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 4, 2)
    quarantined = query(
        settings,
        "select source_file, source_row, column_name, check_name, raw_value from meta.quarantine "
        "order by source_row",
    )
    assert quarantined == [
        (str(plan), 6, "block_hours", "in_range(0.0, 24.0)", "25:00"),
        (str(plan), 7, "dep_date", "parseable", "2024.04.31"),
    ]
    assert query(settings, "select count(*) from raw.flight_plan") == [(4,)]


def test_plans_load_once_and_a_revised_issue_replaces_its_rows(settings, paths, utilization_csv):
    folder = paths["landing"] / "flight_plan"
    older = utilization_csv(
        folder / "flight_plan_issued_2024-03-25.csv", PLANNED, header=PLAN_HEADER
    )
    newer = utilization_csv(
        folder / "flight_plan_issued_2024-04-01.csv", PLANNED[:2], header=PLAN_HEADER
    )
    utilization_csv(paths["landing"] / "util_2024_03.csv", [FLOWN])
    assert sorted(o.status for o in ingest_landing(settings)) == ["loaded"] * 3
    before = snapshot(settings)

    # a re-run loads nothing and changes no row
    assert sorted(o.status for o in ingest_landing(settings)) == ["unchanged"] * 3
    assert snapshot(settings) == before

    # the next weekly delivery writes the issue it shares with this one again, byte for byte
    older.write_bytes(older.read_bytes())
    stat = older.stat()
    os.utime(older, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert {o.uri: o.status for o in ingest_landing(settings)}[str(older)] == "unchanged"
    assert snapshot(settings)["raw.flight_plan"] == before["raw.flight_plan"]

    # a revised issue under its name replaces its own rows; the other issue's stay
    utilization_csv(newer, PLANNED[2:], header=PLAN_HEADER)
    outcomes = {o.uri: o.status for o in ingest_landing(settings)}
    assert outcomes[str(newer)] == "loaded"
    assert query(
        settings, "select source_file, count(*) from raw.flight_plan group by all order by all"
    ) == [(str(older), 4), (str(newer), 2)]
    assert query(
        settings,
        "select status, count(*) from meta.ingested_files where source = 'flight_plan' "
        "group by all order by all",
    ) == [("loaded", 2), ("superseded", 1)]


@pytest.mark.parametrize("missing", ["Hours", "Cycles"])
def test_a_plan_missing_a_column_is_rejected_naming_it(settings, paths, utilization_csv, missing):
    header = [h for h in PLAN_HEADER if h != missing]
    rows = [[c for h, c in zip(PLAN_HEADER, PLANNED[0], strict=True) if h != missing]]
    utilization_csv(paths["landing"] / "flight_plan_issued_2024-04-01.csv", rows, header=header)
    (outcome,) = ingest_landing(settings)
    assert outcome.status == "rejected"
    assert (
        f"missing required columns for layout 'standard' of flight_plan: {missing}" in outcome.error
    )


def test_a_utilisation_file_keeps_its_source_with_extra_columns(settings, paths, utilization_csv):
    header = [*UTILIZATION_HEADER, "Remarks"]
    utilization_csv(paths["landing"] / "u.csv", [[*FLOWN, "ok"]], header=header)
    (outcome,) = ingest_landing(settings)
    assert (outcome.status, outcome.source) == ("loaded", "aircraft_utilization")
