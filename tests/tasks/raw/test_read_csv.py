"""CSV exports in the shapes they really arrive in: old line endings, stray quotes, binary junk."""

from __future__ import annotations

import pytest
from builders import UTILIZATION_HEADER

from tasks.raw.read import UnreadableFile, read_export

HEADER = ",".join(UTILIZATION_HEADER)
LINE = "2019.03.07,PR-GAA,B737NG,4,7:30,4,23456:40,12345"


def lines(*rows: str, end: str = "\n") -> bytes:
    return "".join(row + end for row in rows).encode("utf-8")


def test_classic_mac_line_endings_load_every_row(settings):
    content = lines(HEADER, *[LINE] * 40, end="\r")
    table = read_export("/landing/u.csv", content, settings)
    assert table.rows_read == 40
    assert table.frame.get_column("source_row").to_list() == list(range(2, 42))


def test_windows_line_endings_load_every_row(settings):
    table = read_export("/landing/u.csv", lines(HEADER, LINE, LINE, end="\r\n"), settings)
    assert table.frame.get_column("tac").to_list() == ["12345", "12345"]


def test_a_nul_byte_anywhere_rejects_the_file(settings):
    filler = [LINE] * 2000  # more than 64 KiB before the NUL
    content = lines(HEADER, *filler) + lines("2019.03.08,PR-G\x00AB,B737NG,4,7:30,4,23456:40,1")
    assert content.index(b"\x00") > 65536
    with pytest.raises(UnreadableFile, match="NUL bytes"):
        read_export("/landing/u.csv", content, settings)


def test_binary_bytes_without_nul_are_rejected_not_raised(settings):
    content = bytes(range(1, 256)) * 64
    with pytest.raises(UnreadableFile, match=r"/landing/junk\.csv"):
        read_export("/landing/junk.csv", content, settings)


def test_an_unterminated_quote_names_its_line_not_the_content(settings):
    content = lines(
        HEADER, LINE, LINE, '2019.03.09,"PR-GAA,B737NG,4,7:30,4,23456:40,1', *[LINE] * 200
    )
    with pytest.raises(UnreadableFile) as error:
        read_export("/landing/u.csv", content, settings)
    message = str(error.value)
    assert "line 4" in message and "never closed" in message
    assert len(message) < 400


def test_quarantined_rows_name_the_line_an_editor_shows(settings):
    # A quoted value spanning two lines pushes every later record one line down.
    content = lines(
        HEADER,
        LINE,
        '2019.03.08,PR-GAA,"B737NG\nsecond line",4,7:30,4,23456:40,12345',
        LINE,
        "",
        LINE,
    )
    table = read_export("/landing/u.csv", content, settings)
    assert table.frame.get_column("source_row").to_list() == [2, 3, 5, 7]


@pytest.mark.parametrize(("delimiter", "shown"), [(";", ";"), ("\t", "\\t")])
def test_another_delimiter_is_named_with_the_setting_to_change(settings, delimiter, shown):
    row = LINE.replace(",", delimiter).replace("7:30", "7,5")  # decimal commas make it ragged
    content = lines(HEADER.replace(",", delimiter), row, row)
    with pytest.raises(UnreadableFile) as error:
        read_export("/landing/u.csv", content, settings)
    message = str(error.value)
    assert f"delimited by '{shown}'" in message
    assert "sources.aircraft_utilization.delimiter" in message


def test_a_semicolon_file_without_commas_is_named_too(settings):
    content = lines(HEADER.replace(",", ";"), LINE.replace(",", ";"))
    with pytest.raises(UnreadableFile, match="delimited by ';'"):
        read_export("/landing/u.csv", content, settings)


def test_a_header_below_the_rows_searched_names_the_setting(settings):
    content = lines(*["export of the fleet" + "," * 7] * 25, HEADER, LINE)  # as Excel saves it
    with pytest.raises(UnreadableFile, match=r"row 26.*ingest\.header_search_rows to 26"):
        read_export("/landing/u.csv", content, settings)
