"""Rows breaking a contract are quarantined with their row number, column, check and raw text."""

from __future__ import annotations

from datetime import date

import polars as pl

from tasks.raw.prepare import check_rows
from tasks.raw.read import read_export

GOOD = ["MECHANIC", "PR-GAA", "B737NG", "GRU", date(2019, 3, 7), 32, "GEAR", "1:30", "1:45"]


def _quarantine(settings, path) -> tuple[pl.DataFrame, pl.DataFrame]:
    table = read_export(str(path), path.read_bytes(), settings)
    (checked,) = check_rows([table], settings)
    return checked


def test_bad_event_rows_are_quarantined_and_good_rows_around_them_kept(
    settings, events_xlsx, tmp_path
):
    rows = [
        GOOD,
        GOOD[:7] + ["1:30", "n/a"],  # row 3: unreadable HH
        GOOD[:4] + ["31/02/2019"] + GOOD[5:],  # row 4: impossible date
        GOOD,
        [None] + GOOD[1:],  # row 6: no sign
        GOOD[:7] + [None, "0:00"],  # row 7: not booked and nothing planned to fall back on
        GOOD[:7] + ["1:30", "9999:00"],  # row 8: out of range
        GOOD[:4] + [date(1985, 1, 1)] + GOOD[5:],  # row 9: before contracts.earliest_date
    ]
    path = events_xlsx(tmp_path / "e.xlsx", rows, title="export", blank_rows=1)
    accepted, quarantine = _quarantine(settings, path)
    offset = 4  # blank row, title, gap, header: the first data row is Excel row 5
    assert accepted.get_column("source_row").to_list() == [offset + 1, offset + 4]
    found = {
        (r["source_row"] - offset, r["column_name"], r["check_name"], r["raw_value"])
        for r in quarantine.iter_rows(named=True)
    }
    assert found == {
        (2, "hh_executed", "parseable", "n/a"),
        (3, "closing_date", "parseable", "31/02/2019"),
        (5, "sign", "present", None),
        (6, "hh_planned", "present_when_executed_is_zero", None),
        (7, "hh_executed", "in_range(0.0, 2000.0)", "9999:00"),
        (8, "closing_date", "in_range(1990-01-01, 2100-12-31)", "1985-01-01 00:00:00"),
    }


def test_placeholder_rows_load_but_broken_utilization_rows_do_not(
    settings, utilization_csv, tmp_path
):
    rows = [
        ["2019.03.07", "PR-GAA", "B737NG", "4", "7:30", "4", "23456:40", "12'345"],
        ["0 ", "", "", "", "", "", "", ""],
        ["2019.03.08", "PR-GAA", "B737NG", "1", "1:30", "", "23458:10", "12'346"],
        ["2019.13.45", "PR-GAB", "B737NG", "4", "9:7x", "4", "1:00", "1"],
        ["2019.03.09", "PR-GAA", "B737NG", "4", "25:00", "4", "23460:00", "12'350"],
        ["2019.03.10", "PR-GAA", "B737NG", "2", "3:00", "2", "23463:00", "1e30"],
        ["2019.03.11", "PR-GAA", "B737NG", "2", "3:10", "2", "23466:10", "12'354"],
    ]
    path = utilization_csv(tmp_path / "u.csv", rows, encoding="latin-1")
    accepted, quarantine = _quarantine(settings, path)
    assert accepted.get_column("source_row").to_list() == [2, 3, 4, 8]
    assert accepted.get_column("is_placeholder").to_list() == [False, True, False, False]
    assert sorted(
        (r["source_row"], r["column_name"], r["raw_value"])
        for r in quarantine.iter_rows(named=True)
    ) == [
        (5, "block_hours", "9:7x"),
        (5, "dep_date", "2019.13.45"),
        (6, "block_hours", "25:00"),
        (7, "tac", "1e30"),  # too large for a count: quarantined, not a failed file
    ]


def test_files_checked_together_get_the_verdicts_they_get_alone(
    settings, events_xlsx, utilization_csv, tmp_path
):
    bad_hh, bad_sign = GOOD[:7] + ["1:30", "n/a"], [None] + GOOD[1:]
    util = ["2019.03.07", "PR-GAA", "B737NG", "4", "7:30", "4", "23456:40", "12'345"]
    paths = [
        events_xlsx(tmp_path / "a.xlsx", [GOOD, bad_hh, GOOD, bad_sign], title="export"),
        utilization_csv(tmp_path / "u.csv", [util, util[:4] + ["9:7x"] + util[5:], util]),
        events_xlsx(tmp_path / "b.xlsx", [bad_sign, GOOD, GOOD[:4] + ["31/02/2019"] + GOOD[5:]]),
        events_xlsx(tmp_path / "c.xlsx", [GOOD]),
    ]
    tables = [read_export(str(p), p.read_bytes(), settings) for p in paths]
    together = check_rows(tables, settings)
    assert len(together) == len(tables)
    for table, (accepted, quarantine) in zip(tables, together, strict=True):
        ((alone_accepted, alone_quarantine),) = check_rows([table], settings)
        assert accepted.equals(alone_accepted) and quarantine.equals(alone_quarantine)
    rows_of = [(a.get_column("source_row").to_list(), q.height) for a, q in together]
    assert rows_of == [([4, 6], 2), ([2, 4], 1), ([3], 2), ([2], 0)]
