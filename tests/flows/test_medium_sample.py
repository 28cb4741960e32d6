"""On the generated `medium` sample: nothing lost in ingestion, and weekly totals that match an
independent reading of the files under DOMAIN.md's rules."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import fastexcel
import pytest

from warehouse.connection import connect

pytestmark = pytest.mark.slow


def test_rows_loaded_plus_rows_quarantined_equal_the_rows_in_each_file(medium):
    manifest = json.loads((medium.out / "truth" / "manifest.json").read_text())
    assert medium.ingested.by_status == {"loaded": len(manifest["files"])}
    with connect(medium.settings.warehouse, read_only=True) as con:
        loaded = dict(
            con.execute(
                "select source_file, count(*) from raw.unscheduled_events group by all "
                "union all "
                "select source_file, count(*) from raw.aircraft_utilization group by all "
                "union all "
                "select source_file, count(*) from raw.flight_plan group by all"
            ).fetchall()
        )
        quarantined = con.execute(
            "select source_file, source_row, column_name from meta.quarantine"
        ).fetchall()
    held_rows = Counter(f for f, _ in {(f, r) for f, r, _ in quarantined})
    landing = (medium.out / "landing").resolve()
    uri = {
        e["path"]: str(landing / Path(e["path"]).relative_to("landing")) for e in manifest["files"]
    }
    for entry in manifest["files"]:
        path = uri[entry["path"]]
        assert loaded.get(path, 0) + held_rows.get(path, 0) == entry["data_rows"], path

    # The deliberately broken cells are exactly the quarantined ones: same file, row, column.
    headers = {
        header: canonical
        for source in medium.settings.sources.values()
        for layout in source.layouts.values()
        for canonical, header in layout.items()
    }
    expected = {
        (uri[e["path"]], bad["row"], headers[bad["column"]])
        for e in manifest["files"]
        for bad in e["bad_rows"]
    }
    assert expected, "the medium sample should carry deliberately broken rows"
    assert set(quarantined) == expected


# An independent reading of the files: plain Python, sharing no code with the pipeline.
CLOCK = re.compile(r"^(\d+):(\d\d)(?::(\d\d))?$")


def minutes(cell: str | None) -> int | None:
    """A duration cell in whole minutes (every sample duration is whole minutes)."""
    text = (cell or "").strip()
    if match := CLOCK.match(text):
        return int(match[1]) * 60 + int(match[2]) + round(int(match[3] or 0) / 60)
    if text.startswith(("1899-12-31 ", "1900-01-", "1900-02-")):
        day, clock = text.split(" ")
        days = 0 if day == "1899-12-31" else (31 if day[5:7] == "02" else 0) + int(day[8:])
        h, m, s = (int(x) for x in clock.split(":"))
        return days * 1440 + h * 60 + m + round(s / 60)
    try:
        return round(float(text.replace(",", ".")) * 60)
    except ValueError:
        return None


def calendar_day(cell: str | None) -> date | None:
    """A date cell (as rendered, `2019-03-07 00:00:00`) or text `07/03/2019`; None if invalid."""
    for layout in ("%Y-%m-%d %H:%M:%S", "%d/%m/%Y"):
        try:
            return datetime.strptime((cell or "").strip(), layout).date()
        except ValueError:
            continue
    return None


def read_events(folder: Path, settings) -> Counter:
    """Counted HH-bearing rows of every workbook, duplicates across files counted once."""
    layouts = list(settings.sources["unscheduled_events"].layouts.values())
    best: Counter = Counter()
    for path in sorted(folder.glob("*.xlsx")):
        grid = fastexcel.read_excel(path.read_bytes()).load_sheet(
            0, header_row=None, dtypes="string"
        )
        rows = grid.to_polars().rows()
        at, layout = next(
            (i, lay)
            for i, row in enumerate(rows)
            for lay in layouts
            if set(lay.values()) <= set(row)
        )
        column = {name: rows[at].index(header) for name, header in layout.items()}
        here: Counter = Counter()
        for row in rows[at + 1 :]:
            get = {name: row[i] for name, i in column.items()}
            executed, planned = minutes(get["hh_executed"]), minutes(get["hh_planned"])
            day = calendar_day(get["closing_date"])
            if executed is None or not day or (get["hh_planned"] and planned is None):
                continue  # unreadable: the pipeline quarantines these
            if get["aircraft_type"] != settings.filters.aircraft_type:
                continue
            if get["sign"] in settings.filters.excluded_signs:
                continue
            if get["ata_description"] in settings.filters.excluded_ata_descriptions:
                continue
            counted = planned if executed == 0 else executed
            here[
                (get["registration"], day, get["sign"], get["ata"], planned, executed, counted)
            ] += 1
        best |= here  # the union of Counters keeps each row's largest count
    return best


def read_flights(folder: Path, settings) -> tuple[int, int]:
    """Total block minutes and cycles of the studied type's flying days."""
    block, cycles = 0, 0
    for path in sorted(folder.glob("*.csv")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        for row in csv.DictReader(io.StringIO(text)):
            hours = minutes(row["Hours"])
            if row["Dep. Date"].strip() == "0" or hours is None:
                continue
            try:
                datetime.strptime(row["Dep. Date"], "%Y.%m.%d")
            except ValueError:
                continue
            if row["AC-Type"] == settings.filters.aircraft_type:
                block += hours
                cycles += int(row["Cycles"].replace("'", "")) if row["Cycles"].strip() else 1
    return block, cycles


def test_weekly_totals_equal_an_independent_reading_of_the_files(medium):
    landing = medium.out / "landing"
    events = read_events(landing / "events_unscheduled", medium.settings)
    hh_minutes = sum(key[-1] * count for key, count in events.items())
    block_minutes, cycles = read_flights(landing / "aircraft_utilization", medium.settings)
    with connect(medium.settings.warehouse, read_only=True) as con:
        hh, hours, weekly_cycles = con.execute(
            "select sum(hh), sum(sum_daily_hours), sum(cycles) from marts.features_weekly"
        ).fetchone()
    assert hh == pytest.approx(hh_minutes / 60, rel=1e-6)
    assert hours == pytest.approx(block_minutes / 60, rel=1e-6)
    assert weekly_cycles == cycles
    assert medium.built.version is not None and medium.built.version.weeks >= 520
