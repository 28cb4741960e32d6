"""The plan mart: the weekly features of the coming weeks, from the flight plans in force."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from raw_rows import RawWarehouse, event, flight, planned

from tasks.marts.data_tests import discover_tests, run_tests
from tasks.marts.project import discover
from warehouse.connection import connect

FEATURES = (
    "week_of_year", "acft", "sum_daily_hours", "age_fleet", "cycles", "sum_uti_mensal",
    "n_aircraft", "flights",
)  # fmt: skip
FLEET = {"PR-GAA": 20_000.0, "PR-GAB": 31_000.5}  # registration: TAH on the eve of 2024-01-01


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def hours_on(day: date, reg: str) -> float:
    """Block hours an aircraft flies on a day: varied, exact in binary, some days not at all."""
    if reg == "PR-GAB" and day.day % 9 == 0:
        return 0.0  # on the ground: no row that day
    return 5.0 + (day.toordinal() % 7) * 0.75 + (0.5 if reg == "PR-GAB" else 0.0)


def flown(first: date, last: date, fleet: dict[str, float], tah_from: date) -> list[tuple]:
    """Utilisation rows with TAH grown by each day's hours from `tah_from` on."""
    rows = []
    for reg, tah in fleet.items():
        for day in days(tah_from, last):
            hours = hours_on(day, reg)
            if not hours:
                continue
            tah += hours
            if day >= first:
                rows.append(flight(day=day, reg=reg, hours=hours, cycles=int(hours // 2), tah=tah))
    return rows


def programme(first: date, last: date, fleet, issued: date) -> list[tuple]:
    """The same days as `flown` gives, as the plan issued on `issued`."""
    return [
        planned(
            day=day,
            reg=reg,
            hours=hours_on(day, reg),
            cycles=int(hours_on(day, reg) // 2),
            issued=issued,
        )
        for reg in fleet
        for day in days(first, last)
        if hours_on(day, reg)
    ]


def findings(first: date, last: date) -> list[tuple]:
    """Unscheduled HH on every day, so both sources cover the whole span."""
    return [event(day=d, reg="PR-GAA", hh=1.0 + d.day % 4 * 0.25) for d in days(first, last)]


def rows(warehouse: RawWarehouse, table: str, where: str = "true") -> list[dict]:
    with connect(warehouse.settings.warehouse, read_only=True) as con:
        frame = con.execute(f"select * from {table} where {where} order by week_start")
        names = [c[0] for c in frame.description]
        return [dict(zip(names, r, strict=True)) for r in frame.fetchall()]


@pytest.fixture
def other_warehouse(settings, tmp_path) -> RawWarehouse:
    """A second, empty warehouse with the same settings."""
    path = tmp_path / "other" / "hhcast.duckdb"
    warehouse = settings.warehouse.model_copy(update={"path": path})
    return RawWarehouse(settings.model_copy(update={"warehouse": warehouse}))


def test_the_plan_mart_computes_the_actuals_features_from_the_same_days_planned(
    raw, other_warehouse
):
    # Actuals to Sunday 2024-03-31; April and the first days of May: planned in one warehouse,
    # flown in the other. PR-GAC enters service on 2024-04-10: no actual history in the first.
    entering = {"PR-GAC": 0.0}
    history = flown(date(2024, 1, 1), date(2024, 3, 31), FLEET, date(2024, 1, 1))
    raw.add(
        flights=history,
        events=findings(date(2024, 1, 1), date(2024, 3, 31)),
        plans=[
            *programme(date(2024, 4, 1), date(2024, 5, 5), FLEET, date(2024, 4, 1)),
            *programme(date(2024, 4, 10), date(2024, 5, 5), entering, date(2024, 4, 1)),
        ],
    )
    other_warehouse.add(
        flights=[
            *history,
            *flown(date(2024, 4, 1), date(2024, 5, 5), FLEET, date(2024, 1, 1)),
            *flown(date(2024, 4, 10), date(2024, 5, 5), entering, date(2024, 4, 10)),
        ],
        events=findings(date(2024, 1, 1), date(2024, 5, 5)),
    )
    raw.build()
    other_warehouse.build()

    plan = rows(raw, "marts.features_weekly_plan")
    actual = {r["week_start"]: r for r in rows(other_warehouse, "marts.features_weekly")}
    assert [(r["week_start"], r["horizon_weeks"]) for r in plan] == [
        (date(2024, 4, 1) + timedelta(weeks=h - 1), h) for h in range(1, 6)
    ]
    for week in plan:
        flown_week, h = actual[week["week_start"]], week["horizon_weeks"]
        assert {f: week[f] for f in FEATURES} == {f: flown_week[f] for f in FEATURES}, h
        # History reads actual weeks only: a lag shorter than the horizon is unknown.
        for lag in (1, 2, 4, 52):
            expected = flown_week[f"hh_lag_{lag}"] if lag >= h else None
            assert week[f"hh_lag_{lag}"] == expected, (h, lag)
        assert week["hours_lag_1"] == (flown_week["hours_lag_1"] if h == 1 else None)
        known = [
            actual[week["week_start"] - timedelta(weeks=k)]
            for k in range(h, 14)
            if week["week_start"] - timedelta(weeks=k) >= date(2024, 1, 1)
        ]
        for span in (4, 13):
            inside = [
                w for w in known if week["week_start"] - w["week_start"] <= timedelta(weeks=span)
            ]
            for name, column in (
                (f"hh_rolling_{span}", "hh"),
                (f"hours_rolling_{span}", "sum_daily_hours"),
            ):
                if h == 1:  # the same weeks: the very same value
                    assert week[name] == flown_week[name], name
                elif inside:
                    mean = sum(w[column] for w in inside) / len(inside)
                    assert week[name] == pytest.approx(mean, rel=1e-12), (h, name)
                else:
                    assert week[name] is None, (h, name)
    assert [r["is_complete"] for r in plan] == [True, True, True, True, False]  # May: 5 days
    assert [r["planned_days"] for r in plan] == [7] * 5
    assert plan[-1]["month_known_days"] == 5
    assert {(r["plan_issued_at"], r["plan_file"]) for r in plan} == {
        (date(2024, 4, 1), "flight_plan_issued_2024-04-01.csv")
    }

    # and the data tests beside the models pass on both
    for warehouse in (raw, other_warehouse):
        models = discover(warehouse.settings)
        with connect(warehouse.settings.warehouse) as con:
            results = run_tests(con, discover_tests(models, warehouse.settings), warehouse.settings)
        assert [r for r in results if not r.passed] == []


def test_a_newer_issue_plans_every_day_it_covers_and_the_older_one_stays_in_raw(raw):
    older, newer = date(2024, 3, 25), date(2024, 4, 1)
    raw.add(
        flights=flown(date(2024, 1, 1), date(2024, 3, 31), FLEET, date(2024, 1, 1)),
        events=findings(date(2024, 1, 1), date(2024, 3, 31)),
        plans=[
            # the older issue plans both aircraft every day to 2024-05-12, another type too
            *(
                planned(day=d, reg=r, hours=8.0, issued=older)
                for r in FLEET
                for d in days(older, date(2024, 5, 12))
            ),
            *(planned(day=d, reg="PR-MAA", kind="A320", issued=older) for d in days(older, older)),
            # the newer one to 2024-04-21: PR-GAB's flights of 2024-04-03 cancelled
            *(
                planned(day=d, reg=r, hours=6.0, issued=newer)
                for r in FLEET
                for d in days(newer, date(2024, 4, 21))
                if (r, d) != ("PR-GAB", date(2024, 4, 3))
            ),
        ],
    )
    raw.build()
    newer_file, older_file = (f"flight_plan_issued_{d}.csv" for d in (newer, older))
    in_force = raw.query(
        "select plan_file, min(dep_date), max(dep_date), count(*) from staging.stg_flight_plan "
        "group by plan_file, dep_date > date '2024-04-21' order by 2"
    )
    assert in_force == [
        (older_file, older, date(2024, 3, 31), 14),
        (newer_file, newer, date(2024, 4, 21), 41),  # 3 weeks of 2 aircraft, less the one
        (older_file, date(2024, 4, 22), date(2024, 5, 12), 42),  # past the newer one's span
    ]
    # Superseded rows stay queryable: every row of both issues is in raw.flight_plan.
    assert raw.query(
        "select source_file, plan_issued_at, count(*) from raw.flight_plan group by all order by 2"
    ) == [(older_file, older, 2 * 49 + 1), (newer_file, newer, 41)]
    plan = rows(raw, "marts.features_weekly_plan")
    # The mart runs to the newest issue's last week, every week from the newer issue.
    assert [r["week_start"] for r in plan] == [newer + timedelta(weeks=k) for k in range(3)]
    assert {(r["plan_file"], r["plan_issues"], r["planned_days"]) for r in plan} == {
        (newer_file, 1, 7)
    }
    assert [(r["acft"], r["sum_daily_hours"]) for r in plan] == [(13, 78.0), (14, 84.0), (14, 84.0)]


def test_two_issues_of_one_day_the_one_loaded_last_is_in_force(raw):
    issued = date(2024, 4, 1)
    first, again = "plans/issued_2024-04-01.csv", "plans/issued_2024-04-01 (corrected).csv"
    loaded = datetime(2024, 4, 1, 8, tzinfo=UTC)
    raw.add(plans=[planned(day=issued, hours=5.0, issued=issued, file=first)], now=loaded)
    raw.add(
        plans=[planned(day=issued, hours=7.0, issued=issued, file=again)],
        now=loaded + timedelta(hours=1),
    )
    raw.build()
    assert raw.query("select plan_file, block_hours from staging.stg_flight_plan") == [(again, 7)]


def test_the_week_after_the_last_complete_one_is_horizon_1_even_when_partly_flown(raw):
    # Actuals to Wednesday 2024-04-03: the week of 2024-04-01 is not complete, so it is the
    # first planned week, planned whole; its month's hours are April 1-3 as flown, the rest
    # as planned. Nothing plans 2024-04-08 to 04-14: a week with no planned day, horizon 2.
    raw.add(
        flights=flown(date(2024, 3, 1), date(2024, 4, 3), {"PR-GAA": 1_000.0}, date(2024, 3, 1)),
        events=findings(date(2024, 3, 1), date(2024, 4, 3)),
        plans=[
            *(
                planned(day=d, hours=10.0, issued=date(2024, 4, 1))
                for d in days(date(2024, 4, 1), date(2024, 4, 7))
            ),
            *(
                planned(day=d, hours=9.0, issued=date(2024, 4, 15))
                for d in days(date(2024, 4, 15), date(2024, 5, 12))
            ),
        ],
    )
    raw.build()
    plan = rows(raw, "marts.features_weekly_plan")
    assert [(r["week_start"], r["horizon_weeks"], r["planned_days"], r["acft"]) for r in plan] == [
        (date(2024, 4, 1), 1, 7, 7),
        (date(2024, 4, 8), 2, 0, 0),
        (date(2024, 4, 15), 3, 7, 7),
        (date(2024, 4, 22), 4, 7, 7),
        (date(2024, 4, 29), 5, 7, 7),
        (date(2024, 5, 6), 6, 7, 7),
    ]
    april_flown = sum(hours_on(d, "PR-GAA") for d in days(date(2024, 4, 1), date(2024, 4, 3)))
    april = april_flown + 4 * 10.0 + 16 * 9.0  # April 4-7 from the first issue, 15-30 the second
    assert plan[0]["sum_uti_mensal"] == pytest.approx(april, abs=1e-6)
    assert plan[0]["sum_daily_hours"] == 70.0  # the week as planned, not as partly flown
    # April 8-14 are neither flown nor planned: the month is not known whole
    assert [r["month_known_days"] for r in plan[:4]] == [23] * 4
    assert not any(r["is_complete"] for r in plan)
    assert plan[1]["plan_file"] is None and plan[1]["plan_issues"] == 0


def test_tah_is_projected_from_the_last_actual_tah_and_starts_at_zero_entering_service(raw):
    raw.add(
        flights=[
            *flown(date(2024, 1, 1), date(2024, 3, 31), {"PR-GAA": 500.0}, date(2024, 1, 1)),
            # PR-GAB's last actual day is well before the plan: in the hangar since
            flight(day=date(2024, 3, 10), reg="PR-GAB", hours=4.0, tah=12_345.5),
        ],
        events=findings(date(2024, 1, 1), date(2024, 3, 31)),
        plans=[
            planned(day=date(2024, 4, 1), reg="PR-GAB", hours=8.0),
            planned(day=date(2024, 4, 2), reg="PR-GAB", hours=6.5),
            planned(day=date(2024, 4, 3), reg="PR-GNEW", hours=3.0),  # entering service
            planned(day=date(2024, 4, 4), reg="PR-GNEW", hours=2.0),
        ],
    )
    raw.build()
    (week,) = rows(raw, "marts.features_weekly_plan")
    tah_gab = (12_345.5 + 8.0) + (12_345.5 + 14.5)
    tah_new = 3.0 + 5.0
    assert week["age_fleet"] == tah_gab + tah_new
    assert (week["acft"], week["n_aircraft"], week["sum_daily_hours"]) == (4, 2, 19.5)


def test_no_plan_no_weeks(raw):
    raw.add(
        flights=flown(date(2024, 1, 1), date(2024, 3, 31), FLEET, date(2024, 1, 1)),
        events=findings(date(2024, 1, 1), date(2024, 3, 31)),
    )
    raw.build()
    assert rows(raw, "marts.features_weekly_plan") == []
