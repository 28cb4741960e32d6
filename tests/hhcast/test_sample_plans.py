"""The generator's flight plans: weekly issues of the weeks ahead, revised, realistically wrong."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flows.cli import main
from hhcast.sample import PRESETS, generate
from hhcast.sample.fleet import expected_hh, simulate_fleet
from hhcast.sample.fleet_future import extend_fleet
from hhcast.sample.plans import plan_issue
from hhcast.sample.truth import plan_expected_hh, weekly_usage

PLAN_HEADER = "Dep. Date,A/C,AC-Type,# per Day,Hours,Cycles,Remarks"
PLAN_NAME = re.compile(r"flight_plan_issued_(\d{4}-\d{2}-\d{2})\.csv")
ACTUAL_SOURCES = ("landing/events_unscheduled", "landing/aircraft_utilization")
SMALL = PRESETS["small"]


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> Path:
    """The default `small` delivery: actuals to the preset's end (a Thursday), 8 plan weeks."""
    out = tmp_path_factory.mktemp("plans")
    generate(out, "small", seed=7)
    return out


@pytest.fixture(scope="module")
def weekly(tmp_path_factory) -> dict[date, Path]:
    """Three weekly deliveries inside the span, keyed by their last actual day."""
    ends = {date(2021, 5, 30): "sunday", date(2021, 6, 2): "wednesday", date(2021, 6, 6): "next"}
    outs = {}
    for end, name in ends.items():
        outs[end] = tmp_path_factory.mktemp(name)
        generate(outs[end], "small", seed=7, start=date(2021, 5, 1), end=end)
    return outs


def plan_files(out: Path) -> dict[date, Path]:
    """Each issue's file under landing/flight_plan, by the issue date its name carries."""
    files = sorted((out / "landing/flight_plan").glob("*.csv"))
    return {date.fromisoformat(PLAN_NAME.fullmatch(p.name)[1]): p for p in files}


def read_plan(path: Path) -> pl.DataFrame:
    """A plan file's data rows, typed (placeholders dropped, blank cycles read as 1)."""
    content = path.read_bytes()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    lines = text.splitlines()
    assert lines[0] == PLAN_HEADER
    rows = [r for r in csv.reader(lines[1:]) if r[0] != "0 "]
    return pl.DataFrame(
        {
            "day": [datetime.strptime(r[0], "%Y.%m.%d").date() for r in rows],
            "registration": [r[1] for r in rows],
            "aircraft_type": [r[2] for r in rows],
            "flights": [int(r[3]) for r in rows],
            "minutes": [int(r[4].split(":")[0]) * 60 + int(r[4].split(":")[1]) for r in rows],
            "cycles": [int(r[5] or 1) for r in rows],
        }
    )


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_issues_are_the_last_n_mondays_and_each_plans_n_weeks_from_its_date(delivery):
    # The last actual day, 2022-06-30, is a Thursday: plans begin on the Monday of its week.
    files = plan_files(delivery)
    assert list(files) == [date(2022, 6, 27) - timedelta(weeks=k) for k in range(7, -1, -1)]
    for issued_at, path in files.items():
        days = read_plan(path)["day"]
        # The issue date is also the first planned day, so a loader can read it off either.
        assert days.min() == issued_at and days.max() == issued_at + timedelta(weeks=8, days=-1)
        assert days.n_unique() == 56
    newest = read_plan(files[date(2022, 6, 27)])
    assert newest["day"].min() == date(2022, 6, 27) and newest["day"].max() == date(2022, 8, 21)
    manifest = json.loads((delivery / "truth/manifest.json").read_text(encoding="utf-8"))
    assert manifest["plans"]["first_planned_week"] == "2022-06-27"
    assert manifest["plans"]["issued"] == [d.isoformat() for d in files]


def test_plans_start_after_the_last_complete_actual_week(weekly):
    sunday, wednesday, following = weekly.values()
    assert max(plan_files(sunday)) == date(2021, 5, 31)
    # A partial week (Monday to Wednesday flown) is planned whole: the same issues as the
    # delivery ending on the Sunday before, byte for byte.
    assert max(plan_files(wednesday)) == date(2021, 5, 31)
    assert digest(sunday / "landing/flight_plan") == digest(wednesday / "landing/flight_plan")
    assert max(plan_files(following)) == date(2021, 6, 7)


def test_a_later_weekly_delivery_rewrites_the_issues_it_shares_byte_for_byte(weekly, tmp_path):
    earlier, later = digest(weekly[date(2021, 5, 30)]), digest(weekly[date(2021, 6, 6)])
    shared = {n for n in earlier if n.startswith("landing/flight_plan/")} & set(later)
    assert len(shared) == 7
    assert all(earlier[name] == later[name] for name in shared)
    # Near the preset's end the world is flown on past it, further for the later delivery.
    before = generate(
        tmp_path / "a", "small", seed=7, start=date(2022, 6, 1), end=date(2022, 6, 23)
    )
    after = generate(tmp_path / "b", "small", seed=7, start=date(2022, 6, 1))
    assert before.planned[1] == date(2022, 8, 14) and after.planned[1] == date(2022, 8, 21)
    a, b = digest(before.out / "landing/flight_plan"), digest(after.out / "landing/flight_plan")
    assert len(a.keys() & b.keys()) == 7 and all(a[n] == b[n] for n in a.keys() & b.keys())
    truth_a = (before.out / "truth/weekly_expected_hh.csv").read_text().splitlines()
    truth_b = (after.out / "truth/weekly_expected_hh.csv").read_text().splitlines()
    assert truth_a == truth_b[:-1]  # one more week planned, every earlier one unchanged
    plan_a = pl.read_csv(before.out / "truth/plan_expected_hh.csv")
    plan_b = pl.read_csv(after.out / "truth/plan_expected_hh.csv")
    shared_rows = plan_b.join(plan_a.select("plan_issued_at"), on="plan_issued_at", how="semi")
    assert plan_a.filter(pl.col("plan_issued_at") > "2022-05-02").equals(shared_rows)
    assert shared_rows.height == 7 * 8


def test_plans_do_not_change_a_byte_of_the_actual_exports(delivery, tmp_path):
    zero = generate(tmp_path, "small", seed=7, plan_weeks=0)
    assert zero.plan_issues == zero.plan_rows == 0 and zero.planned is None
    assert not (tmp_path / "landing/flight_plan").exists()
    for source in ACTUAL_SOURCES:
        assert digest(tmp_path / source) == digest(delivery / source), source
    truth_zero = (tmp_path / "truth/weekly_expected_hh.csv").read_text().splitlines()
    truth_plans = (delivery / "truth/weekly_expected_hh.csv").read_text().splitlines()
    # Every complete week of the span is the same; the span's last one is flown to its Sunday.
    assert truth_zero[:-1] == truth_plans[: len(truth_zero) - 1]
    assert pl.read_csv(tmp_path / "truth/plan_expected_hh.csv").height == 0


def test_plan_files_carry_the_utilisation_quirks(delivery, weekly):
    manifest = json.loads((delivery / "truth/manifest.json").read_text(encoding="utf-8"))
    entries = [e for e in manifest["files"] if e["source"] == "flight_plan"]
    assert len(entries) == 8
    encodings = set()
    for entry in entries:
        content = (delivery / entry["path"]).read_bytes()
        encodings.add(entry["encoding"])
        if entry["encoding"] == "latin-1":
            with pytest.raises(UnicodeDecodeError):
                content.decode("utf-8")
        assert (b"\r\n" in content) == (entry["newline"] == "CRLF")
        text = content.decode(entry["encoding"])
        lines = text.splitlines()
        assert lines[0] == PLAN_HEADER  # the header first: no title row, no TAH/TAC
        assert len(lines) - 1 == entry["data_rows"] and entry["bad_rows"] == []
        assert entry["issued_at"] == entry["first_date"] and entry["weeks"] == 8
        assert "0 ,,,,,," in lines
        data = [r for r in csv.reader(lines[1:]) if r[0] != "0 "]
        assert all(len(r) == 7 for r in data)
        assert all(re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", r[0]) for r in data)
        assert all(re.fullmatch(r"\d+:\d{2}", r[4]) for r in data)
        assert any(re.fullmatch(r"0\d:\d{2}", r[4]) for r in data)  # zero-padded HH:MM
        assert all(r[3] == "1" for r in data if r[5] == "")  # a blank cycle means one
        assert {r[2] for r in data} == {"B737NG", "A320", "E190"}
    others = [json.loads((o / "truth/manifest.json").read_text()) for o in weekly.values()]
    encodings |= {e["encoding"] for m in others for e in m["files"] if e["source"] == "flight_plan"}
    assert encodings == {"utf-8", "latin-1"}


def test_plan_truth_has_one_row_per_issue_and_planned_week(delivery):
    truth = pl.read_csv(delivery / "truth/plan_expected_hh.csv", try_parse_dates=True)
    weekly = pl.read_csv(delivery / "truth/weekly_expected_hh.csv", try_parse_dates=True)
    assert truth.columns == [
        "plan_issued_at",
        "week_start",
        "horizon_weeks",
        "acft",
        "sum_daily_hours",
        "cycles",
        "expected_hh",
        "actual_acft",
        "actual_sum_daily_hours",
        "actual_cycles",
        "actual_expected_hh",
    ]
    assert truth.height == 8 * 8 and truth.select("plan_issued_at", "week_start").is_unique().all()
    lead = (truth["week_start"] - truth["plan_issued_at"]).dt.total_days()
    assert (truth["horizon_weeks"] == lead // 7 + 1).all()
    assert set(truth["horizon_weeks"]) == set(range(1, 9))
    # The actual side is the weekly truth itself, over every planned week.
    joined = truth.join(weekly, on="week_start", how="left")
    assert joined["expected_hh_right"].null_count() == 0
    assert np.allclose(joined["actual_expected_hh"], joined["expected_hh_right"], atol=1e-6)
    # The planned side is the studied type's rows of each issue's file.
    for issued_at, path in plan_files(delivery).items():
        rows = read_plan(path).filter(pl.col("aircraft_type") == "B737NG")
        by_week = rows.group_by(week_start=pl.col("day").dt.truncate("1w")).agg(
            acft=pl.len(), hours=pl.col("minutes").sum() / 60, cycles=pl.col("cycles").sum()
        )
        plan = truth.filter(pl.col("plan_issued_at") == issued_at).join(by_week, on="week_start")
        assert plan.height == 8
        assert (plan["acft"] == plan["acft_right"]).all()
        assert np.allclose(plan["sum_daily_hours"], plan["hours"], atol=1e-6)
        assert (plan["cycles"] == plan["cycles_right"]).all()


def test_a_week_is_revised_by_every_issue_that_plans_it(delivery):
    truth = pl.read_csv(delivery / "truth/plan_expected_hh.csv", try_parse_dates=True)
    first_planned = truth.filter(pl.col("week_start") == date(2022, 6, 27))
    assert sorted(first_planned["horizon_weeks"]) == list(range(1, 9))
    assert first_planned["sum_daily_hours"].n_unique() == 8
    assert first_planned["expected_hh"].n_unique() == 8
    files = plan_files(delivery)
    oldest, newest = read_plan(files[date(2022, 5, 9)]), read_plan(files[date(2022, 6, 27)])
    same_days = oldest.join(newest, on=["day", "registration"], how="inner")
    assert same_days.height > 0
    assert (same_days["minutes"] != same_days["minutes_right"]).mean() > 0.5


def test_plan_error_exists_and_grows_with_the_horizon():
    spec = PRESETS["medium"]
    fleet = simulate_fleet(spec, 7)
    world = extend_fleet(fleet, 7, date(2026, 2, 22))
    expected = expected_hh(world, None, 1.0)
    issued = [date(2025, 12, 29) - timedelta(weeks=k) for k in range(52)]
    issues = [plan_issue(world, 7, day, 8) for day in issued]
    plans = plan_expected_hh(issues, weekly_usage(world, expected), None, 1.0)
    error = plans.group_by("horizon_weeks").agg(
        hours=((pl.col("sum_daily_hours") / pl.col("actual_sum_daily_hours") - 1).abs().mean()),
        hh=((pl.col("expected_hh") / pl.col("actual_expected_hh") - 1).abs().mean()),
    )
    by_horizon = dict(error.select("horizon_weeks", "hours").iter_rows())
    # Within a few percent a week ahead, somewhat more eight weeks ahead.
    assert 0.005 < by_horizon[1] < 0.04
    assert by_horizon[1] < by_horizon[4] < by_horizon[8] < 0.10
    assert (error["hh"] > 0).all()
    # Planned days never flown, and flown days planned with other flights, at every horizon.
    newest = issues[-1].planned
    planned_not_flown = newest.flying & ~world.flying[:, -56:]
    assert planned_not_flown[:, :7].mean() < planned_not_flown[:, -7:].mean()
    both = newest.flying & world.flying[:, -56:]
    assert (newest.flights[both] != world.flights[:, -56:][both]).any()


def test_an_aircraft_entering_service_late_is_planned_before_it_flies(tmp_path):
    fleet = simulate_fleet(SMALL, 7)
    world = extend_fleet(fleet, 7, SMALL.end)
    for aircraft in np.flatnonzero((fleet.entry > 120) & (fleet.entry < fleet.days.size - 60)):
        entry = fleet.days[fleet.entry[aircraft]].item()
        issued_at = entry - timedelta(days=entry.weekday() + 28)  # a Monday 4-5 weeks ahead
        before_entry = fleet.entry[aircraft] - (issued_at - SMALL.start).days
        if plan_issue(world, 7, issued_at, 8).planned.flying[aircraft, :before_entry].any():
            break
    else:
        pytest.fail("no delivery of the small preset enters service later than planned")
    registration = str(fleet.registrations[aircraft])
    # The delivery whose newest issue is that Monday's: actuals up to the Sunday before.
    out = generate(
        tmp_path,
        "small",
        seed=7,
        start=issued_at - timedelta(days=30),
        end=issued_at - timedelta(days=1),
    ).out
    plan = read_plan(plan_files(out)[issued_at]).filter(pl.col("registration") == registration)
    first_flown = fleet.days[fleet.flying[aircraft].argmax()].item()
    assert plan["day"].min() < entry <= first_flown


def test_plan_weeks_out_of_range_or_before_the_world_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="plan weeks 53 must be between 0 and 52"):
        generate(tmp_path, "small", plan_weeks=53)
    with pytest.raises(ValueError, match="needs actuals before it"):
        generate(tmp_path, "small", end=SMALL.start + timedelta(days=20))
    args = ["generate", "--out", str(tmp_path), "--preset", "small", "--plan-weeks", "-1"]
    assert main(args) == 2
    assert "hhcast generate: plan weeks -1" in capsys.readouterr().err
    assert not (tmp_path / "landing").exists()


def test_the_cli_summary_counts_plan_rows(tmp_path, capsys):
    args = ["generate", "--out", str(tmp_path), "--preset", "small", "--start", "2022-06-01"]
    assert main([*args, "--plan-weeks", "2"]) == 0
    line = capsys.readouterr().out
    rows = sum(len(p.read_bytes().splitlines()) - 1 for p in plan_files(tmp_path).values())
    assert f"2 flight-plan issues, {rows:,} plan rows, planning 2022-06-27 to 2022-07-10" in line
    assert main([*args, "--plan-weeks", "0"]) == 0
    assert "flight-plan" not in capsys.readouterr().out
