"""Incremental builds equal full ones, whatever order and shape the deliveries come in.

Each scenario lands real exports (the `small` sample, some edited the way corrected exports
differ), runs the real ingest and transform flows, and after every incremental build compares
each table with what a full refresh builds on the same warehouse. The full refresh runs the
steps `transform(full_refresh=True)` runs (every model rebuilt whole, in order) inside a
transaction that is rolled back: a fifth of the flow's cost, and the incremental builds keep
stacking on one another as they would in production. The first scenario ends with the real
`transform(full_refresh=True)` too.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from built_tables import BUILT_TABLES, contents, read_built

from flows.ingest import ingest
from flows.transform import transform
from hhcast.config import Settings, load_settings
from hhcast.sample import generate
from tasks.marts.build import build_model
from tasks.marts.project import discover
from tasks.transform import BuildSummary
from warehouse.connection import connect

pytestmark = pytest.mark.usefixtures("prefect_harness")
EVENTS = "events_unscheduled"
UTILIZATION = "aircraft_utilization"
NEW_AIRCRAFT = "PR-GZZ"  # a B737NG the first exports left out
MISDATED = {  # a work item of 4 h the first October 2020 export dated in September
    "sign": "MECHANIC",
    "registration": "PR-GAA",
    "aircraft_type": "B737NG",
    "issue_station": "GRU",
    "closing_date": datetime(2020, 9, 25),
    "ata": 21,
    "ata_description": "AIR CONDITIONING",
    "hh_planned": "4:00",
    "hh_executed": "4:00",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `small` sample's exports from 2019-07 to 2021-05, one file a source and month."""
    out = tmp_path_factory.mktemp("sample")
    generate(out, preset="small", seed=7, end=date(2021, 5, 31))
    return out / "landing"


def point_at(home: Path, env: pytest.MonkeyPatch) -> None:
    """HHCAST_* variables putting landing, lake and warehouse under `home`."""
    for name, value in {
        "HHCAST_LANDING": home / "landing",
        "HHCAST_LAKE": home / "lake",
        "HHCAST_WAREHOUSE": home / "warehouse" / "hhcast.duckdb",
        "HHCAST_INGEST__WORKER_PROCESSES": 0,
    }.items():
        env.setenv(name, str(value))


@pytest.fixture(scope="module")
def built_once(sample: Path, tmp_path_factory, prefect_harness) -> tuple[Path, Path]:
    """The first delivery, 2020-01 to 2021-03 with February 2020 missing, ingested and built
    once by the flows; a copy of its folder is kept to restore it from."""
    root = tmp_path_factory.mktemp("first-delivery")
    home, snapshot = root / "home", root / "snapshot"
    with pytest.MonkeyPatch.context() as env:
        point_at(home, env)
        deliver(
            sample, home / "landing", [m for m in months("2020_01", "2021_03") if m != "2020_02"]
        )
        # This first October export also holds a work item mis-dated in September.
        october = exported(sample, EVENTS, "2020_10")
        edit_events(october, home / "landing" / EVENTS / october.name, extra=[MISDATED])
        assert ingest_landing() == {"loaded": 28}
        assert transform(return_state=True).result().plan.mode == "full"
    shutil.copytree(home, snapshot)
    return home, snapshot


@pytest.fixture
def first_delivery(built_once: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The first delivery as built, restored where it was built: its files keep their URIs
    (and, copied with their times, are not even read again)."""
    home, snapshot = built_once
    shutil.rmtree(home)
    shutil.copytree(snapshot, home)
    point_at(home, monkeypatch)
    return load_settings()


def exported(sample: Path, source: str, month: str) -> Path:
    """The sample's export of one source for one month (`YYYY_MM`)."""
    extension = "xlsx" if source == EVENTS else "csv"
    return sample / source / f"{source}_{month}.{extension}"


def months(first: str, last: str) -> list[str]:
    """`YYYY_MM` of every month from `first` to `last`."""
    year, month = map(int, first.split("_"))
    found = []
    while f"{year}_{month:02d}" <= last:
        found.append(f"{year}_{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def deliver(sample: Path, landing: Path, names: Iterable[str], sources=(EVENTS, UTILIZATION)):
    """Copy the sample's exports of these months into landing, as a delivery would drop them."""
    for month in names:
        for source in sources:
            (landing / source).mkdir(parents=True, exist_ok=True)
            shutil.copy(exported(sample, source, month), landing / source)


def ingest_landing() -> dict[str, int]:
    """Run the ingest flow on landing; the files by status."""
    state = ingest(return_state=True)
    assert state.is_completed(), state.message
    return dict(state.result().by_status)


def full_refresh_contents() -> dict[str, list[tuple]]:
    """What a full refresh builds on the warehouse as it stands, leaving it as it stands.

    The flow's full build calls `build_model` with no window for every model, in the order
    `discover` gives; here the same calls run in one transaction, rolled back once read.
    Settings are read again, as the flow does, so a test's HHCAST_* overrides apply."""
    settings = load_settings()
    with connect(settings.warehouse) as con:
        con.begin()
        try:
            for model in discover(settings):
                build_model(con, model, settings, None)
            return read_built(con)
        finally:
            con.rollback()


def query(settings, sql: str, params: list | None = None) -> list[tuple]:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def differences(incremental: list[tuple], full: list[tuple]) -> str:
    """The rows only one build holds, a few of each, for the failure message."""
    only_incremental = sorted(set(incremental) - set(full))
    only_full = sorted(set(full) - set(incremental))
    return (
        f"{len(only_incremental)} rows only incremental, e.g. {only_incremental[:3]}; "
        f"{len(only_full)} rows only full, e.g. {only_full[:3]}"
    )


def build_incrementally_and_compare(settings) -> BuildSummary:
    """The transform flow builds incrementally; every table equals a full refresh's."""
    state = transform(return_state=True)
    built = state.result(raise_on_failure=False)
    assert state.is_completed(), f"{built.headline()}: {built.failed}"
    assert built.plan.mode == "incremental", built.plan.reason
    incremental, full = contents(settings), full_refresh_contents()
    for table in BUILT_TABLES:
        assert incremental[table] == full[table], (
            f"{table} ({built.plan.reason}, window {built.plan.window}): "
            + differences(incremental[table], full[table])
        )
    return built


def weekly(settings, week: date) -> tuple | None:
    """(acft, hh, hh_lag_52, is_complete) of one week of marts.features_weekly, if there."""
    rows = query(
        settings,
        "select acft, hh, hh_lag_52, is_complete from marts.features_weekly where week_start = ?",
        [week],
    )
    return rows[0] if rows else None


def last_week(settings) -> date:
    return query(settings, "select max(week_start) from marts.features_weekly")[0][0]


def statuses(settings, name: str) -> list[str]:
    """The statuses of every version of a landing file, oldest first."""
    rows = query(
        settings,
        "select status from meta.ingested_files where uri like ? order by ingested_at",
        [f"%/{name}"],
    )
    return [status for (status,) in rows]


# -- editing exports the way corrected ones differ ----------------------------------------


def edit_utilization(
    path: Path,
    dest: Path,
    drop: Callable[[date, str], bool] = lambda day, reg: False,
    hours: Callable[[date, str], str | None] = lambda day, reg: None,
    extra: Iterable[str] = (),
) -> None:
    """Rewrite a utilisation CSV: drop rows, change their `Hours`, append lines.

    Latin-1 maps every byte to one character, so untouched lines stay byte for byte."""
    lines = path.read_bytes().decode("latin-1").splitlines(keepends=True)
    newline = "\r\n" if lines[0].endswith("\r\n") else "\n"
    kept = [lines[0]]
    for line in lines[1:]:
        cells = line.rstrip("\r\n").split(",")
        try:
            day = datetime.strptime(cells[0].strip(), "%Y.%m.%d").date()
        except ValueError:  # a placeholder or a spoiled date: leave it as it is
            kept.append(line)
            continue
        if drop(day, cells[1]):
            continue
        changed = hours(day, cells[1])
        if changed is not None:
            cells[4] = changed
            line = ",".join(cells) + newline
        kept.append(line)
    kept += [row + newline for row in extra]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes("".join(kept).encode("latin-1"))


def _closing_day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    try:
        return datetime.strptime(str(value), "%d/%m/%Y").date()
    except ValueError:
        return None  # a deliberately spoiled cell


def edit_events(
    path: Path,
    dest: Path,
    drop: Callable[[date | None, str], bool] = lambda day, reg: False,
    hh_executed: Callable[[date | None, str], str | None] = lambda day, reg: None,
    extra: Iterable[dict[str, object]] = (),
) -> None:
    """Rewrite an events workbook in place (cell formats kept): drop rows, change executed HH,
    append rows given by field (`sign`, `registration`, `closing_date`, ...)."""
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header_row = next(r[0].row for r in sheet.iter_rows() if r[0].value == "SIGN")
    header = [cell.value for cell in sheet[header_row]]
    # the layout's header of each field, from hhcast.yaml: the one whose headers are all there
    layouts = load_settings().sources["unscheduled_events"].layouts.values()
    field_header = next(m for m in layouts if set(m.values()) <= set(header))
    column = {name: header.index(text) + 1 for name, text in field_header.items()}
    dropped = []
    for row in range(header_row + 1, sheet.max_row + 1):
        day = _closing_day(sheet.cell(row, column["closing_date"]).value)
        registration = sheet.cell(row, column["registration"]).value
        if drop(day, registration):
            dropped.append(row)
        elif (changed := hh_executed(day, registration)) is not None:
            sheet.cell(row, column["hh_executed"]).value = changed
    # Runs of consecutive rows at once (each deletion moves every row below), bottom up.
    runs: list[list[int]] = []
    for row in dropped:
        if runs and row == runs[-1][0] + runs[-1][1]:
            runs[-1][1] += 1
        else:
            runs.append([row, 1])
    for first, count in reversed(runs):
        sheet.delete_rows(first, count)
    for fields in extra:
        values = [None] * len(header)
        for name, value in fields.items():
            values[column[name] - 1] = value
        sheet.append(values)
    dest.parent.mkdir(parents=True, exist_ok=True)
    book.save(dest)


# -- the scenarios ---------------------------------------------------------------------------


def test_late_corrected_and_overlapping_exports_build_like_a_full_refresh(sample, first_delivery):
    settings, landing = first_delivery, Path(first_delivery.landing)
    assert weekly(settings, date(2020, 2, 17))[:2] == (0, 0)  # a zero week, for now
    assert weekly(settings, date(2021, 2, 15))[2] == 0  # its lag 52 reads that week

    # 1. February 2020 arrives late, after later months were built: its weeks, and the
    # weeks a year later whose lags read them, change.
    deliver(sample, landing, ["2020_02"])
    assert ingest_landing() == {"loaded": 2, "unchanged": 28}
    late = build_incrementally_and_compare(settings)
    assert late.plan.window.start <= date(2020, 2, 1)
    acft, hh, _, _ = weekly(settings, date(2020, 2, 17))
    assert acft > 0 and hh > 0
    assert weekly(settings, date(2021, 2, 15))[2] == hh

    # 2. October 2020 re-delivered under the same names: its first five days gone (the first
    # three still come from September's events export, whose overlap repeats them), the HH
    # of one aircraft's work items and the block hours of another's days corrected, and the
    # work item mis-dated in September gone.
    # 3. November 2020's exports corrected to its first half: the weeks of its second half,
    # which only the old versions touched, lose their rows.
    september = weekly(settings, date(2020, 9, 21))
    october, november = weekly(settings, date(2020, 10, 5)), weekly(settings, date(2020, 11, 23))
    edit_events(
        exported(sample, EVENTS, "2020_10"),
        landing / EVENTS / "events_unscheduled_2020_10.xlsx",
        drop=lambda day, reg: day is not None and day <= date(2020, 10, 5),
        hh_executed=lambda day, reg: "7:30" if reg == "PR-GAB" else None,
    )
    edit_utilization(
        exported(sample, UTILIZATION, "2020_10"),
        landing / UTILIZATION / "aircraft_utilization_2020_10.csv",
        drop=lambda day, reg: day <= date(2020, 10, 5),
        hours=lambda day, reg: "3:00" if reg == "PR-GAC" else None,
    )
    first_half = date(2020, 11, 15)
    edit_events(
        exported(sample, EVENTS, "2020_11"),
        landing / EVENTS / "events_unscheduled_2020_11.xlsx",
        drop=lambda day, reg: day is None or day > first_half,
    )
    edit_utilization(
        exported(sample, UTILIZATION, "2020_11"),
        landing / UTILIZATION / "aircraft_utilization_2020_11.csv",
        drop=lambda day, reg: day > first_half,
    )
    assert ingest_landing() == {"loaded": 4, "unchanged": 26}
    for name in (
        "events_unscheduled_2020_10.xlsx",
        "aircraft_utilization_2020_10.csv",
        "events_unscheduled_2020_11.xlsx",
        "aircraft_utilization_2020_11.csv",
    ):
        assert statuses(settings, name) == ["superseded", "loaded"], name
    corrected = build_incrementally_and_compare(settings)
    assert corrected.plan.window.start <= date(2020, 9, 21)  # the old version's first week
    assert weekly(settings, date(2020, 9, 21))[1] == pytest.approx(september[1] - 4, abs=1e-6)
    assert weekly(settings, date(2020, 10, 5)) != october
    assert weekly(settings, date(2020, 11, 23))[:2] == (0, 0) != november[:2]

    # 4. An overlapping export under a new name: the last twelve days of December 2020 again
    # (already loaded from the December exports), plus an aircraft those left out.
    late_december = [date(2020, 12, day) for day in range(20, 32)]
    daily = "select * from intermediate.int_aircraft_daily where day between ? and ? order by all"
    daily_before = query(settings, daily, [late_december[0], late_december[-1]])
    edit_utilization(
        exported(sample, UTILIZATION, "2020_12"),
        landing / UTILIZATION / "aircraft_utilization_2020_12_supplement.csv",
        drop=lambda day, reg: day < late_december[0],
        extra=[f"{d:%Y.%m.%d},{NEW_AIRCRAFT},B737NG,3,6:00,3,1200:00,600," for d in late_december],
    )
    edit_events(
        exported(sample, EVENTS, "2020_12"),
        landing / EVENTS / "events_unscheduled_2020_12_supplement.xlsx",
        drop=lambda day, reg: day is None or not late_december[0] <= day <= late_december[-1],
        extra=[
            {
                "sign": "MECHANIC",
                "registration": NEW_AIRCRAFT,
                "aircraft_type": "B737NG",
                "issue_station": "GRU",
                "closing_date": datetime(2020, 12, 22),
                "ata": 32,
                "ata_description": "LANDING GEAR",
                "hh_planned": "2:00",
                "hh_executed": "2:30",
            }
        ],
    )
    assert ingest_landing() == {"loaded": 2, "unchanged": 30}
    build_incrementally_and_compare(settings)
    daily_after = query(settings, daily, [late_december[0], late_december[-1]])
    # the repeated rows counted once: every aircraft-day as it was, the new aircraft's added
    assert [r for r in daily_after if r[1] != NEW_AIRCRAFT] == daily_before
    added = [(r[3], r[6]) for r in daily_after if r[1] == NEW_AIRCRAFT]
    assert len(added) == 12 and sum(hours for hours, _ in added) == 72
    assert sum(hh for _, hh in added) == 2.5

    # The flow's own full refresh builds what the incremental builds left.
    incremental = contents(settings)
    full = transform(full_refresh=True, return_state=True).result()
    assert full.plan.mode == "full"
    assert contents(settings) == incremental


def test_history_delivered_before_the_first_week_built_rebuilds_every_week(sample, first_delivery):
    """Older months delivered after the first build, two months short of the data built: the
    weeks between them and the old start are new (zeros), and so are the lags reading them."""
    deliver(sample, Path(first_delivery.landing), months("2019_07", "2019_10"))
    assert ingest_landing() == {"loaded": 8, "unchanged": 28}
    state = transform(return_state=True)
    built = state.result()
    assert state.is_completed() and built.plan.mode == "full"
    assert "in or before the first week built (2019-12-30)" in built.plan.reason
    assert contents(first_delivery) == full_refresh_contents()
    assert weekly(first_delivery, date(2019, 12, 2))[:2] == (0, 0)  # in the gap: a zero week
    assert weekly(first_delivery, date(2020, 11, 30))[2] == 0  # its lag 52 reads it


def test_the_last_month_corrected_to_its_first_half_builds_like_a_full_refresh(
    sample, first_delivery
):
    settings, landing = first_delivery, Path(first_delivery.landing)
    built_to = last_week(settings)
    # 3. March 2021's exports corrected to its first half: the weeks only the old versions
    # touched go, and the span both sources cover shrinks with them.
    for source, edit in ((EVENTS, edit_events), (UTILIZATION, edit_utilization)):
        original = exported(sample, source, "2021_03")
        edit(
            original,
            landing / source / original.name,
            drop=lambda d, r: not d or d > date(2021, 3, 15),
        )
    assert ingest_landing() == {"loaded": 2, "unchanged": 26}
    shrunk = build_incrementally_and_compare(settings)
    assert shrunk.plan.window.end >= built_to
    assert last_week(settings) == date(2021, 3, 15)


def test_sunday_weeks_and_one_source_at_a_time_build_like_a_full_refresh(
    sample, first_delivery, monkeypatch
):
    monkeypatch.setenv("HHCAST_FEATURES__WEEK_STARTS_ON", "sunday")
    settings, landing = load_settings(), Path(first_delivery.landing)
    rebuilt = transform(return_state=True).result()
    assert (rebuilt.plan.mode, rebuilt.plan.reason) == (
        "full",
        "models or configuration changed since the last build",
    )
    april = date(2021, 4, 11)  # a Sunday, its week wholly in April

    # 6a. April's utilisation first, no events yet: its weeks fly but are not complete.
    deliver(sample, landing, ["2021_04"], sources=[UTILIZATION])
    assert ingest_landing() == {"loaded": 1, "unchanged": 28}
    build_incrementally_and_compare(settings)
    acft, hh, _, complete = weekly(settings, april)
    assert acft > 0 and hh == 0 and not complete

    # 6b. Then April's events alone: the same weeks get their HH and become complete.
    deliver(sample, landing, ["2021_04"], sources=[EVENTS])
    assert ingest_landing() == {"loaded": 1, "unchanged": 29}
    build_incrementally_and_compare(settings)
    acft, hh, _, complete = weekly(settings, april)
    assert hh > 0 and complete
    sundays = query(settings, "select distinct dayofweek(week_start) from marts.features_weekly")
    assert sundays == [(0,)]
