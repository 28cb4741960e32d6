"""Workbooks are read by their content, whatever their name says; odd ones are refused, with why."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
import xlsxwriter
from builders import LEGACY_HEADER
from workbooks import encrypted_workbook_bytes, ods_bytes, xls_bytes

from tasks.raw.read import UnreadableFile, read_export

EVENT = ["MECHANIC", "PR-GAA", "B737NG", "GRU", date(2019, 3, 7), 32, "GEAR", "1:30", "1:45"]
# Two blank rows, a title (row 3), a gap, the header (row 5), data on rows 6 and 7.
TITLED = [[None], [None], ["Events export"], [None], LEGACY_HEADER, EVENT, EVENT]


def xlsx_bytes(rows, tmp_path) -> bytes:
    path = tmp_path / "book.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Events")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value.isoformat() if isinstance(value, date) else value)
    book.close()
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["xlsx", "xls", "ods"])
@pytest.mark.parametrize("named", [".xlsx", ".own"])
def test_every_workbook_format_loads_with_the_row_numbers_excel_shows(
    settings, tmp_path, kind, named
):
    content = {
        "xlsx": lambda: xlsx_bytes(TITLED, tmp_path),
        "xls": lambda: xls_bytes(TITLED),
        "ods": lambda: ods_bytes({"Events": TITLED}),
    }[kind]()
    name = f"/landing/events{'.' + kind if named == '.own' else '.xlsx'}"
    table = read_export(name, content, settings)
    assert (table.source, table.layout) == ("unscheduled_events", "legacy")
    assert table.frame.get_column("source_row").to_list() == [6, 7]
    assert table.frame.get_column("registration").to_list() == ["PR-GAA", "PR-GAA"]


def test_a_password_protected_workbook_is_named_as_such(settings):
    with pytest.raises(UnreadableFile, match=r"encrypted.*save it without a password"):
        read_export("/landing/locked.xlsx", encrypted_workbook_bytes(), settings)


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40, "truncated zip"),
        (b"Dep. Date,A/C\n2019.03.07,PR-GAA\n", "CSV renamed"),
    ],
)
def test_damaged_or_mislabelled_content_says_what_it_looks_like(settings, content, cause):
    with pytest.raises(UnreadableFile, match="not a readable Excel workbook") as error:
        read_export("/landing/e.xlsx", content, settings)
    assert cause.split()[-1] in str(error.value)


def test_a_workbook_cut_short_is_rejected_not_raised(settings, tmp_path):
    whole = xlsx_bytes(TITLED, tmp_path)
    with pytest.raises(UnreadableFile, match=r"/landing/cut\.xlsx"):
        read_export("/landing/cut.xlsx", whole[: len(whole) // 2], settings)


def test_a_zip_without_a_workbook_is_rejected_not_raised(settings):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(UnreadableFile, match="zip archive without a workbook"):
        read_export("/landing/e.xlsx", buffer.getvalue(), settings)


def test_data_on_another_sheet_names_that_sheet(settings):
    content = ods_bytes({"Summary": [["Totals", 12]], "Work items": TITLED})
    with pytest.raises(UnreadableFile, match="on sheet 'Work items', not on the first sheet"):
        read_export("/landing/e.xlsx", content, settings)


def test_a_header_below_the_rows_searched_names_the_setting(settings):
    rows = [["notes"]] + [[None]] * 30 + [LEGACY_HEADER, EVENT]
    with pytest.raises(UnreadableFile) as error:
        read_export("/landing/e.xls", xls_bytes(rows), settings)
    message = str(error.value)
    assert "row 32" in message and "ingest.header_search_rows to 32" in message


def test_a_header_under_many_blank_rows_is_still_found(settings):
    # The search starts at the first filled row, as calamine's grid did before.
    rows = [[None]] * 40 + [LEGACY_HEADER, EVENT]
    table = read_export("/landing/e.xls", xls_bytes(rows), settings)
    assert table.frame.get_column("source_row").to_list() == [42]


def stray_cell_workbook(path, column: int = 40, formatted_blank: bool = False):
    """A small export with one cell left at the sheet's last row (1,048,576)."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Events")
    sheet.write_row(0, 0, LEGACY_HEADER)
    for row in range(1, 201):
        sheet.write_row(row, 0, [str(v) for v in EVENT])
    if formatted_blank:
        sheet.write_blank(1_048_575, column, None, book.add_format({"bold": True}))
    else:
        sheet.write_string(1_048_575, column, "x")
    book.close()
    return path.read_bytes()


def test_a_stray_cell_at_the_last_row_is_refused_before_it_is_allocated(settings, tmp_path):
    content = stray_cell_workbook(tmp_path / "stray.xlsx")
    with pytest.raises(UnreadableFile) as error:
        read_export("/landing/stray.xlsx", content, settings)
    message = str(error.value)
    assert "A1:AO1048576" in message and "ingest.max_sheet_cells" in message
    assert "202 rows hold values" in message  # the header, 200 rows of data, the stray cell


def test_a_formatted_blank_far_below_the_data_does_not_count(settings, tmp_path):
    # Excel's <dimension> covers formatted blanks; calamine skips them, so the file loads.
    content = stray_cell_workbook(tmp_path / "styled.xlsx", formatted_blank=True)
    assert read_export("/landing/styled.xlsx", content, settings).rows_read == 200


def test_the_cell_limit_is_a_setting(tmp_path, env, monkeypatch):
    from hhcast.config import load_settings

    content = xlsx_bytes([LEGACY_HEADER] + [EVENT] * 200, tmp_path)
    monkeypatch.setenv("HHCAST_INGEST__MAX_SHEET_CELLS", "1000")
    with pytest.raises(UnreadableFile, match=r"A1:I201 \(1,809 cells, more than .* 1,000\)"):
        read_export("/landing/e.xlsx", content, load_settings())
