"""Layouts are recognised from the header row; unreadable files say what is wrong and what to do."""

from __future__ import annotations

from datetime import date

import pytest
from builders import LAYOUT_2021_HEADER, Duration

from hhcast.config import load_settings
from tasks.raw.read import UnreadableFile, read_export

EVENT = [
    "MECHANIC",
    "PR-GAA",
    "B737NG",
    "GRU",
    date(2019, 3, 7),
    32,
    "LANDING GEAR",
    "1:30",
    "1:45",
]


def test_legacy_layout_under_a_title_and_blank_rows_keeps_excel_row_numbers(
    settings, events_xlsx, tmp_path
):
    path = events_xlsx(tmp_path / "e.xlsx", [EVENT, EVENT], title="Events export", blank_rows=2)
    table = read_export(str(path), path.read_bytes(), settings)
    assert (table.source, table.layout) == ("unscheduled_events", "legacy")
    # Two blank rows, the title (row 3), a gap (row 4), the header (row 5): data on rows 6-7.
    assert table.frame.get_column("source_row").to_list() == [6, 7]
    assert table.frame.get_column("hh_executed").to_list() == ["1:45", "1:45"]


def test_2021_layout_is_recognised_by_its_headers_not_its_position(settings, events_xlsx, tmp_path):
    row = [
        "MECHANIC",
        "PR-GAA",
        "B737NG",
        "GRU",
        date(2021, 3, 7),
        32,
        "GEAR",
        Duration(26.5),
        "1,5",
    ]
    path = events_xlsx(tmp_path / "legacy-looking-name.xlsx", [row], header=LAYOUT_2021_HEADER)
    table = read_export(str(path), path.read_bytes(), settings)
    assert table.layout == "layout_2021"
    record = table.frame.row(0, named=True)
    # hh_exec comes before hh_plan in this layout; names, not positions, decide.
    assert record["hh_executed"] == "1900-01-01 02:30:00"
    assert record["hh_planned"] == "1,5"
    assert record["source_row"] == 2


def test_a_third_layout_needs_only_configuration(events_xlsx, tmp_path, env, monkeypatch):
    header = [
        "Raised by",
        "Reg",
        "Type",
        "Station",
        "Closed",
        "Chapter",
        "Chapter name",
        "Plan",
        "Done",
    ]
    path = events_xlsx(tmp_path / "e.xlsx", [EVENT], header=header)
    with pytest.raises(UnreadableFile):
        read_export(str(path), path.read_bytes(), load_settings())
    canonical = [
        "sign", "registration", "aircraft_type", "issue_station", "closing_date",
        "ata", "ata_description", "hh_planned", "hh_executed",
    ]  # fmt: skip
    layout = "{" + ", ".join(f"{c}: '{h}'" for c, h in zip(canonical, header, strict=True)) + "}"
    monkeypatch.setenv("HHCAST_SOURCES__UNSCHEDULED_EVENTS__LAYOUTS__LAYOUT_2024", layout)
    table = read_export(str(path), path.read_bytes(), load_settings())
    assert table.layout == "layout_2024"
    assert table.frame.row(0, named=True)["hh_executed"] == "1:45"


def test_missing_columns_name_the_file_and_the_columns(settings, events_xlsx, tmp_path):
    header = [h for h in LAYOUT_2021_HEADER if h != "hh_plan"]
    path = events_xlsx(tmp_path / "short.xlsx", [EVENT[:-1]], header=header)
    with pytest.raises(UnreadableFile) as error:
        read_export(str(path), path.read_bytes(), settings)
    message = str(error.value)
    assert str(path) in message
    assert "hh_plan" in message and "layout_2021" in message and "hhcast.yaml" in message


@pytest.mark.parametrize(
    ("name", "content", "cause"),
    [
        ("empty.xlsx", b"", "empty"),
        ("fake.xlsx", b"this is not a workbook", "not a readable Excel workbook"),
        ("utf16.csv", "Dep. Date,A/C\n".encode("utf-16"), "NUL bytes"),
        ("notes.pdf", b"%PDF-1.4", "not a known export type"),
    ],
)
def test_unreadable_files_are_named_with_their_cause(settings, name, content, cause):
    with pytest.raises(UnreadableFile) as error:
        read_export(f"/landing/{name}", content, settings)
    assert f"/landing/{name}" in str(error.value)
    assert cause in str(error.value)


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_utilization_csv_in_either_encoding(settings, utilization_csv, tmp_path, encoding):
    header = [
        "Dep. Date",
        "A/C",
        "AC-Type",
        "# per Day",
        "Hours",
        "Cycles",
        "TAH",
        "TAC",
        "Remarks",
    ]
    rows = [["2019.03.07", "PR-GAA", "B737NG", "4", "7:30", "4", "23456:40", "12'345", "Inspeção"]]
    path = utilization_csv(tmp_path / "u.csv", rows, header=header, encoding=encoding)
    table = read_export(str(path), path.read_bytes(), settings)
    assert (table.source, table.encoding) == ("aircraft_utilization", encoding)
    assert table.frame.row(0, named=True)["tac"] == "12'345"
    assert table.frame.get_column("source_row").to_list() == [2]


def test_ragged_csv_names_the_line(settings, tmp_path):
    content = (
        b"Dep. Date,A/C,AC-Type,# per Day,Hours,Cycles,TAH,TAC\n"
        + (b"2019.03.07,PR-GAA,B737NG,4,7:30,4,23456:40,12345\n" * 3)
        + b"2019.03.08,PR-GAA,B737NG,4,7:30,4,23456:40,12,345\n"
    )
    with pytest.raises(UnreadableFile, match="line 5"):
        read_export("/landing/u.csv", content, settings)


def test_blank_rows_are_skipped_but_rows_with_stray_values_are_kept(
    settings, events_xlsx, tmp_path
):
    stray = [None] * 9 + ["a note beyond the last column"]
    path = events_xlsx(tmp_path / "e.xlsx", [EVENT, [None] * 9, stray, EVENT])
    table = read_export(str(path), path.read_bytes(), settings)
    # Row 3 is blank and carries nothing; row 4 has a value, so it is data (and will fail checks).
    assert table.frame.get_column("source_row").to_list() == [2, 4, 5]
    assert table.rows_read == 3
