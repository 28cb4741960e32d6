"""The sample generator writes deterministic exports with every quirk, and an exact answer key."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl
import pytest

from hhcast.sample import PRESETS, generate
from hhcast.sample.fleet import WORKLOAD, simulate_fleet

EVENT_FIELDS = {
    "SIGN": "sign",
    "AC": "registration",
    "AC Type": "aircraft_type",
    "AC_Type": "aircraft_type",
    "ISSUE STATION": "issue_station",
    "ISSUE_STATION": "issue_station",
    "CLOSING DATE": "closing_date",
    "CLOSING_DATE": "closing_date",
    "ATA": "ata",
    "ATA DESC": "ata_description",
    "DESCRIPTION": "ata_description",
    "HH Planejado WO": "hh_planned",
    "hh_plan": "hh_planned",
    "HH Executado WO": "hh_executed",
    "hh_exec": "hh_executed",
}
UTILIZATION_HEADER = "Dep. Date,A/C,AC-Type,# per Day,Hours,Cycles,TAH,TAC,Remarks"
CLOCK = re.compile(r"(\d+):(\d{2})(?::(\d{2}))?")
EXCEL_DURATION = re.compile(r"1900-01-(\d{2}) (\d{2}):(\d{2}):(\d{2})")
DECIMAL = re.compile(r"\d+(?:[.,]\d+)?")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    out = tmp_path_factory.mktemp("small")
    return generate(out, "small", seed=7), out


@pytest.fixture(scope="module")
def manifest(sample) -> dict:
    return json.loads((sample[1] / "truth/manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def events(sample) -> pl.DataFrame:
    """Every data row of every events workbook, as the text fastexcel reads, with its file."""
    frames = []
    for path in sorted((sample[1] / "landing/events_unscheduled").glob("*.xlsx")):
        grid = read_grid(path)
        at = next(i for i, row in enumerate(grid.iter_rows()) if row[0] == "SIGN")
        headers = grid.row(at)
        body = grid.slice(at + 1).rename(dict(zip(grid.columns, headers, strict=True)))
        frames.append(
            body.rename({h: EVENT_FIELDS[h] for h in headers}).with_columns(
                file=pl.lit(path.name), layout=pl.lit("legacy" if "AC Type" in headers else "2021")
            )
        )
    return pl.concat(frames, how="diagonal")


@pytest.fixture(scope="module")
def utilization(sample) -> dict[str, bytes]:
    folder = sample[1] / "landing/aircraft_utilization"
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.csv"))}


def read_grid(path: Path) -> pl.DataFrame:
    sheet = fastexcel.read_excel(path).load_sheet(0, header_row=None, dtypes="string")
    return sheet.to_polars()


def hh_minutes(text: str | None) -> int | None:
    """Minutes from any HH form the exports use; None for anything else."""
    if text is None:
        return None
    if match := CLOCK.fullmatch(text):
        return int(match[1]) * 60 + int(match[2])
    if match := EXCEL_DURATION.fullmatch(text):
        day, hour, minute = int(match[1]), int(match[2]), int(match[3])
        return (day * 24 + hour) * 60 + minute  # Excel's day 1 is 1900-01-01
    if DECIMAL.fullmatch(text):
        return round(float(text.replace(",", ".")) * 60)
    return None


def closing_day(text: str | None) -> date | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%d/%m/%Y"):
        try:
            return datetime.strptime(text or "", fmt).date()
        except ValueError:
            continue
    return None


def typed(events: pl.DataFrame) -> pl.DataFrame:
    """Typed event rows; rows whose HH or date cannot be read come out null."""
    return events.with_columns(
        pl.col("hh_executed").map_elements(hh_minutes, return_dtype=pl.Int64).alias("executed"),
        pl.col("hh_planned").map_elements(hh_minutes, return_dtype=pl.Int64).alias("planned"),
        pl.col("closing_date").map_elements(closing_day, return_dtype=pl.Date).alias("day"),
    )


def digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def csv_lines(content: bytes) -> list[str]:
    for encoding in ("utf-8", "latin-1"):
        try:
            return content.decode(encoding).splitlines()
        except UnicodeDecodeError:
            continue
    raise AssertionError("undecodable")


def test_report_and_manifest_list_exactly_the_landing_files(sample, manifest):
    report, out = sample
    listed = {entry["path"] for entry in manifest["files"]}
    on_disk = {str(p.relative_to(out)) for p in (out / "landing").rglob("*") if p.is_file()}
    assert listed == on_disk
    assert report.files == len(listed) == 72 + 8  # 36 months, two sources; 8 plan issues
    assert report.plan_issues == 8
    assert report.plan_rows == sum(
        e["data_rows"] for e in manifest["files"] if e["source"] == "flight_plan"
    )
    assert report.event_rows == sum(
        e["data_rows"] for e in manifest["files"] if e["source"] == "events_unscheduled"
    )
    assert report.utilization_rows == sum(
        e["data_rows"] for e in manifest["files"] if e["source"] == "aircraft_utilization"
    )
    assert report.bad_rows == sum(len(e["bad_rows"]) for e in manifest["files"]) >= 2
    assert report.span == (PRESETS["small"].start, PRESETS["small"].end)


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(sample, tmp_path):
    out = sample[1]
    again = digest(generate(tmp_path / "again", "small", seed=7).out)
    assert again == digest(out)
    other = digest(generate(tmp_path / "other", "small", seed=8).out)
    assert other.keys() == again.keys()
    assert all(other[name] != again[name] for name in other)


def test_manifest_data_rows_equal_the_rows_in_each_file(sample, manifest, events, utilization):
    per_file = events.group_by("file").len()
    counted = dict(per_file.iter_rows())
    for entry in manifest["files"]:
        name = entry["path"].rsplit("/", 1)[1]
        if entry["source"] == "events_unscheduled":
            assert counted[name] == entry["data_rows"], name
        elif entry["source"] == "flight_plan":
            content = (sample[1] / entry["path"]).read_bytes()
            assert len(csv_lines(content)) - 1 == entry["data_rows"], name
        else:
            assert len(csv_lines(utilization[name])) - 1 == entry["data_rows"], name


def test_bad_rows_in_manifest_are_the_cells_written(sample, manifest, utilization):
    out = sample[1]
    bad = {"events_unscheduled": 0, "aircraft_utilization": 0}
    for entry in manifest["files"]:
        for cell in entry["bad_rows"]:
            bad[entry["source"]] += 1
            if entry["source"] == "events_unscheduled":
                grid = read_grid(out / entry["path"])
                first_used = 3 if entry["header_row"] == 3 and not entry["title_row"] else 1
                row = grid.row(cell["row"] - first_used)
                header = grid.row(entry["header_row"] - first_used)
                assert row[header.index(cell["column"])] == cell["value"]
                day = closing_day(
                    row[header.index("CLOSING DATE" if "AC Type" in header else "CLOSING_DATE")]
                )
                assert day is None or day.day > 3  # never a row repeated in another file
            else:
                lines = csv_lines(utilization[entry["path"].rsplit("/", 1)[1]])
                fields = next(csv.reader([lines[cell["row"] - 1]]))
                assert fields[UTILIZATION_HEADER.split(",").index(cell["column"])] == cell["value"]
                assert fields[1].startswith("PR-")  # a real row, not a placeholder
            assert closing_day(cell["value"]) is None and hh_minutes(cell["value"]) is None
    assert bad["events_unscheduled"] >= 1 and bad["aircraft_utilization"] >= 1


def test_both_layouts_and_every_header_position_are_written(sample, manifest, events):
    first_file = events.group_by("layout").agg(pl.col("file").min())
    assert dict(first_file.iter_rows()) == {
        "legacy": "events_unscheduled_2019_07.xlsx",
        "2021": "events_unscheduled_2021_01.xlsx",
    }
    last_legacy = events.filter(pl.col("layout") == "legacy")["file"].max()
    assert last_legacy == "events_unscheduled_2020_12.xlsx"
    arrangements = {
        (e["header_row"], e["title_row"])
        for e in manifest["files"]
        if e["source"] == "events_unscheduled"
    }
    assert arrangements == {(1, False), (3, True), (3, False)}
    blank_lead = next(
        e for e in manifest["files"] if e.get("header_row") == 3 and not e["title_row"]
    )
    with zipfile.ZipFile(sample[1] / blank_lead["path"]) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r"<row r=\"(\d+)\"", sheet)[1] == "3"


def test_hh_cells_use_every_format_and_long_work_is_a_1900_date_time(events):
    hh = events.unpivot(["hh_executed", "hh_planned"], index="layout").drop_nulls()
    legacy = hh.filter(pl.col("layout") == "legacy")["value"]
    modern = hh.filter(pl.col("layout") == "2021")["value"]
    assert legacy.str.contains(r"^\d:\d{2}$").any()  # H:MM
    assert legacy.str.contains(r"^\d{2}:\d{2}:\d{2}$").any()  # HH:MM:SS
    assert legacy.str.contains(r"^\d+\.\d+$").any()  # numeric decimal
    assert modern.str.contains(r"^\d+,\d+$").any()  # comma decimal
    assert not legacy.str.contains(",").any()
    assert modern.str.contains(r"^\d+:\d{2}$").any()
    long_work = hh.filter(pl.col("value").str.starts_with("1900-"))["value"]
    assert long_work.len() > 0
    assert all(hh_minutes(v) >= 24 * 60 for v in long_work)
    # Text durations stay under a day: only Excel date-times carry 24 h and more.
    clocks = hh.filter(pl.col("value").str.contains(r"^\d+:\d{2}"))["value"]
    assert max(hh_minutes(v) for v in clocks) < 24 * 60


def test_rows_the_business_rules_exclude_are_present(events):
    total = events.height
    crew = events.filter(pl.col("sign").is_in(["PILOT", "CABIN"])).height
    paperwork = events.filter(pl.col("ata_description") == "ADMINISTRATIVE - GENERAL").height
    assert 0.02 < crew / total < 0.06
    assert 0.01 < paperwork / total < 0.03
    assert set(events["aircraft_type"].unique()) == {"B737NG", "A320", "E190"}
    assert set(events["sign"].unique()) >= {"PILOT", "CABIN", "MECHANIC", "INSPECTOR"}
    not_booked = events.filter(pl.col("hh_executed").is_in(["0:00", "0"]))
    assert 0.01 < not_booked.height / total < 0.05
    assert (not_booked["hh_planned"].map_elements(hh_minutes, return_dtype=pl.Int64) > 0).all()


def test_closing_dates_are_date_cells_and_some_legacy_ones_text(events):
    dates = events["closing_date"]
    text = events.filter(pl.col("closing_date").str.contains(r"^\d{2}/\d{2}/\d{4}$"))
    assert set(text["layout"].unique()) == {"legacy"}
    assert 0.005 < text.height / events.filter(pl.col("layout") == "legacy").height < 0.05
    assert dates.str.contains(r"^\d{4}-\d{2}-\d{2} 00:00:00$").mean() > 0.95


def test_overlap_days_repeat_exactly_in_both_files(events):
    rows = typed(events).with_columns(month=pl.col("file").str.extract(r"(\d{4}_\d{2})"))
    keys = [c for c in EVENT_FIELDS.values() if c not in ("closing_date", "hh_executed")]
    keys = sorted(set(keys) - {"hh_planned"}) + ["day", "executed", "planned"]
    checked = 0
    for earlier, later in zip(
        sorted(rows["month"].unique())[:-1], sorted(rows["month"].unique())[1:], strict=True
    ):
        in_later = pl.col("day").dt.strftime("%Y_%m") == later
        tail = rows.filter((pl.col("month") == earlier) & in_later)
        head = rows.filter((pl.col("month") == later) & in_later & (pl.col("day").dt.day() <= 3))
        assert tail.height == head.height > 0
        assert tail.select(keys).sort(keys).equals(head.select(keys).sort(keys))
        checked += 1
    assert checked == 35


def test_utilization_files_carry_every_quirk(manifest, utilization):
    declared = {e["path"].rsplit("/", 1)[1]: e for e in manifest["files"]}
    encodings, newlines, blank_cycles, single_flights, rows = set(), set(), 0, 0, 0
    for name, content in utilization.items():
        encodings.add(declared[name]["encoding"])
        if declared[name]["encoding"] == "latin-1":  # must not read as UTF-8 by accident
            with pytest.raises(UnicodeDecodeError):
                content.decode("utf-8")
        else:
            assert not content.decode("utf-8").isascii(), name
        newlines.add("CRLF" if b"\r\n" in content else "LF")
        assert content.count(b"\r\n") in (0, content.count(b"\n")), name
        lines = csv_lines(content)
        assert lines[0] == UTILIZATION_HEADER
        assert "0 ,,,,,,,," in lines, name
        data = [r for r in csv.reader(lines[1:]) if r[0] != "0 "]
        assert all(len(r) == 9 for r in data)
        assert (
            sum(re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", r[0]) is not None for r in data)
            >= len(data) - 1
        )
        assert any("'" in r[7] for r in data)
        assert all(re.fullmatch(r"\d+:\d{2}", r[6]) for r in data)
        blank_cycles += sum(r[5] == "" for r in data)
        assert all(r[3] == "1" for r in data if r[5] == "")
        single_flights += sum(r[3] == "1" for r in data)
        rows += len(data)
    assert encodings == {"utf-8", "latin-1"} and newlines == {"CRLF", "LF"}
    assert 0.01 < blank_cycles / rows < 0.05 and blank_cycles < single_flights
    remarks = b"".join(utilization.values()).decode("latin-1")
    assert '"Troca de pneu, trem principal"' in remarks


def test_truth_has_one_row_per_iso_week_of_the_span_and_the_planned_weeks(sample):
    truth = pl.read_csv(sample[1] / "truth/weekly_expected_hh.csv", try_parse_dates=True)
    weeks = truth["week_start"]
    assert truth.columns == ["week_start", "expected_hh"]
    assert (weeks.dt.weekday() == 1).all()
    assert (weeks.diff().drop_nulls() == timedelta(days=7)).all()
    assert weeks[0] <= PRESETS["small"].start < weeks[0] + timedelta(days=7)
    # The plans look 8 weeks past the week holding the preset's last day (a Thursday).
    assert weeks[-1] + timedelta(days=6) == sample[0].planned[1] == date(2022, 8, 21)
    text = (sample[1] / "truth/weekly_expected_hh.csv").read_text().splitlines()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2},\d+\.\d{6}", text[1])


def test_truth_matches_the_hh_counted_from_the_files(sample, events):
    counted = (
        typed(events)
        .filter(
            (pl.col("aircraft_type") == "B737NG")
            & ~pl.col("sign").is_in(["PILOT", "CABIN"])
            & (pl.col("ata_description") != "ADMINISTRATIVE - GENERAL")
        )
        .drop_nulls(["day", "executed", "planned"])
        .with_columns(
            minutes=pl.when(pl.col("executed") == 0)
            .then(pl.col("planned"))
            .otherwise(pl.col("executed"))
        )
    )
    # A row in two files counts as many times as it appears in one of them.
    keys = [
        c
        for c in counted.columns
        if c not in ("file", "layout", "closing_date") and not c.startswith("hh_")
    ]
    once = counted.group_by([*keys, "file"]).len().group_by(keys).agg(pl.col("len").max())
    weekly = once.group_by(week_start=pl.col("day").dt.truncate("1w")).agg(
        hh=(pl.col("minutes") * pl.col("len")).sum() / 60
    )
    truth = pl.read_csv(sample[1] / "truth/weekly_expected_hh.csv", try_parse_dates=True)
    # Weeks wholly inside the emitted range: the truth goes on over the planned weeks.
    emitted = pl.col("week_start") + timedelta(days=6) <= PRESETS["small"].end
    joined = truth.filter(emitted).join(weekly, on="week_start", how="left").fill_null(0)
    expected, actual = joined["expected_hh"].to_numpy(), joined["hh"].to_numpy()
    # About 100 work items a week, some of them heavy, leave ~12% noise on a weekly total;
    # four-week totals halve it.
    assert np.corrcoef(expected, actual)[0, 1] > 0.85
    months = len(expected) // 4 * 4
    four_weekly = [a[:months].reshape(-1, 4).sum(axis=1) for a in (expected, actual)]
    assert np.corrcoef(*four_weekly)[0, 1] > 0.95
    assert joined["hh"].sum() == pytest.approx(joined["expected_hh"].sum(), rel=0.03)


def test_a_narrower_range_cuts_files_but_keeps_their_names(sample, manifest, tmp_path):
    cut = generate(tmp_path, "small", seed=7, start=date(2020, 1, 1), end=date(2020, 3, 15))
    cut_manifest = json.loads((cut.out / "truth/manifest.json").read_text(encoding="utf-8"))
    full = {e["path"]: e for e in manifest["files"]}
    cut_manifest["files"] = [e for e in cut_manifest["files"] if e["source"] != "flight_plan"]
    months = [re.search(r"(\d{4}_\d{2})\.", e["path"])[1] for e in cut_manifest["files"]]
    assert sorted(months) == ["2020_01", "2020_01", "2020_02", "2020_02", "2020_03", "2020_03"]
    assert cut.span == (date(2020, 1, 1), date(2020, 3, 15))
    whole, partial = digest(sample[1] / "landing"), digest(cut.out / "landing")
    for entry in cut_manifest["files"]:
        if "2020_03" in entry["path"]:
            assert entry["data_rows"] < full[entry["path"]]["data_rows"]
            assert entry["last_date"] == "2020-03-15"
        else:  # an uncut month is the very same file as in the full delivery
            assert (
                partial[entry["path"].removeprefix("landing/")]
                == whole[entry["path"].removeprefix("landing/")]
            )
    # The cut's plans end inside the span, the full delivery's past it: the truth agrees on
    # every week but the span's last, which only the full delivery's world flies to its Sunday.
    cut_truth = (cut.out / "truth/weekly_expected_hh.csv").read_text().splitlines()
    full_truth = (sample[1] / "truth/weekly_expected_hh.csv").read_text().splitlines()
    assert cut_truth[-1].startswith("2022-06-27,")
    assert cut_truth[:-1] == full_truth[: len(cut_truth) - 1]


def test_drift_scales_expected_hh_from_its_date_only(sample, tmp_path):
    drift_from, factor = date(2021, 7, 1), 1.5
    drifted = generate(
        tmp_path,
        "small",
        seed=7,
        start=date(2021, 5, 1),
        end=date(2021, 6, 30),
        drift_from=drift_from,
        drift_factor=factor,
    )
    base = pl.read_csv(sample[1] / "truth/weekly_expected_hh.csv", try_parse_dates=True)
    after = pl.read_csv(drifted.out / "truth/weekly_expected_hh.csv", try_parse_dates=True)
    fleet = simulate_fleet(PRESETS["small"], 7)
    days = pl.DataFrame(
        {"day": fleet.days, "hours": fleet.block_minutes[fleet.studied].sum(axis=0) / 60}
    )
    hours = (
        days.filter(pl.col("day") >= drift_from)
        .group_by(week_start=pl.col("day").dt.truncate("1w"))
        .agg(pl.col("hours").sum())
    )
    extra = (factor - 1) * WORKLOAD["B737NG"].per_block_hour
    compared = (
        base.join(after, on="week_start", suffix="_drift")
        .join(hours, on="week_start", how="left")
        .fill_null(0)
        .filter(pl.col("week_start") < date(2022, 6, 27))  # the last one is flown on in `base`
    )
    delta = compared["expected_hh_drift"] - compared["expected_hh"]
    assert np.allclose(delta, extra * compared["hours"], atol=2e-6)
    assert (delta.filter(compared["week_start"] < date(2021, 6, 28)) == 0).all()
    assert (delta.filter(compared["week_start"] >= date(2021, 7, 5)) > 0).all()
    # Months before the drift are delivered exactly as without it.
    for path in (
        "events_unscheduled/events_unscheduled_2021_05.xlsx",
        "aircraft_utilization/aircraft_utilization_2021_05.csv",
    ):
        assert (drifted.out / "landing" / path).read_bytes() == (
            sample[1] / "landing" / path
        ).read_bytes()


def test_an_unknown_preset_or_range_outside_the_span_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'tiny'"):
        generate(tmp_path, "tiny")
    with pytest.raises(ValueError, match="not within the 'small' preset's span"):
        generate(tmp_path, "small", start=date(2010, 1, 1))
    assert not (tmp_path / "landing").exists()
