"""Per-file loads are idempotent, replace changed files, skip copies, and are all-or-nothing."""

from __future__ import annotations

import os
from datetime import date

import duckdb
import pytest

from flows.ingest import prepare_warehouse
from tasks.ingest import ingest_all
from tasks.raw import load, prepare
from tasks.raw.landing import list_landing
from warehouse.connection import connect, held_open

ROW = ["MECHANIC", "PR-GAA", "B737NG", "GRU", date(2019, 3, 7), 32, "GEAR", "1:30", "1:45"]
TABLES = (
    "raw.unscheduled_events",
    "raw.aircraft_utilization",
    "meta.ingested_files",
    "meta.quarantine",
)


def ingest_landing(settings) -> list[load.FileOutcome]:
    """The ingest flow's steps without Prefect, one file after the other."""
    known = prepare_warehouse.fn(settings)
    return ingest_all(list_landing(settings), settings, known, as_tasks=False)


def snapshot(settings) -> dict[str, list[tuple]]:
    with connect(settings.warehouse, read_only=True) as con:
        return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in TABLES}


def count(settings, sql: str):
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_second_run_loads_nothing_and_changes_no_row(settings, paths, events_xlsx, utilization_csv):
    events_xlsx(paths["landing"] / "events" / "e.xlsx", [ROW, ROW[:7] + ["1:00", "n/a"]])
    utilization_csv(
        paths["landing"] / "util" / "u.csv",
        [["2019.03.07", "PR-GAA", "B737NG", "4", "7:30", "4", "1:00", "1"]],
    )
    (paths["landing"] / "junk.xlsx").write_bytes(b"not a workbook")
    first = ingest_landing(settings)
    assert sorted(o.status for o in first) == ["loaded", "loaded", "rejected"]
    before = snapshot(settings)
    second = ingest_landing(settings)
    assert sorted(o.status for o in second) == ["rejected", "unchanged", "unchanged"]
    assert snapshot(settings) == before


def test_changed_file_replaces_the_rows_of_its_earlier_version(settings, paths, events_xlsx):
    path = paths["landing"] / "e.xlsx"
    events_xlsx(path, [ROW, ROW, ROW[:7] + ["1:00", "n/a"]])
    ingest_landing(settings)
    events_xlsx(path, [ROW[:7] + ["2:00", "2:00"]])  # re-exported: one row, no bad ones
    (outcome,) = ingest_landing(settings)
    assert outcome.status == "loaded"
    assert count(settings, "select count(*) from raw.unscheduled_events") == 1
    assert count(settings, "select sum(hh_executed) from raw.unscheduled_events") == 2.0
    assert count(settings, "select count(*) from meta.quarantine") == 0
    statuses = count(settings, "select list(status order by status) from meta.ingested_files")
    assert statuses == ["loaded", "superseded"]


def test_same_content_under_another_name_is_not_loaded_twice(settings, paths, events_xlsx):
    first = events_xlsx(paths["landing"] / "a" / "e.xlsx", [ROW, ROW])
    (paths["landing"] / "b").mkdir()
    (paths["landing"] / "b" / "e copy.xlsx").write_bytes(first.read_bytes())
    outcomes = ingest_landing(settings)
    assert [o.status for o in outcomes] == ["loaded", "skipped_duplicate"]
    assert "a/e.xlsx" in outcomes[1].error
    assert count(settings, "select count(*) from raw.unscheduled_events") == 2


def test_a_twin_of_a_version_replaced_in_the_same_batch_loads(settings, paths, events_xlsx):
    # a.xlsx is re-exported and its old content arrives as b.xlsx, both in one batch: the old
    # content is no longer loaded anywhere once a.xlsx is replaced, so b.xlsx is not a twin.
    old = events_xlsx(paths["landing"] / "a.xlsx", [ROW, ROW])
    ingest_landing(settings)
    (paths["landing"] / "b.xlsx").write_bytes(old.read_bytes())
    events_xlsx(paths["landing"] / "a.xlsx", [ROW[:7] + ["2:00", "2:00"]])
    outcomes = ingest_landing(settings)
    assert [(o.uri.rsplit("/", 1)[1], o.status) for o in outcomes] == [
        ("a.xlsx", "loaded"),
        ("b.xlsx", "loaded"),
    ]
    assert count(settings, "select count(*) from raw.unscheduled_events") == 3
    statuses = count(settings, "select list(status order by status) from meta.ingested_files")
    assert statuses == ["loaded", "loaded", "superseded"]


def test_a_file_loads_in_one_transaction(settings, paths, events_xlsx, monkeypatch):
    events_xlsx(paths["landing"] / "e.xlsx", [ROW, ROW])
    original = load._insert

    def fail_on_rows(con, table, frame):
        if table == "raw.unscheduled_events":
            raise duckdb.IOException("disk full")  # after the file was entered in meta
        original(con, table, frame)

    monkeypatch.setattr(load, "_insert", fail_on_rows)
    with pytest.raises(duckdb.IOException):
        ingest_landing(settings)
    assert count(settings, "select count(*) from raw.unscheduled_events") == 0
    assert count(settings, "select count(*) from meta.ingested_files") == 0
    monkeypatch.setattr(load, "_insert", original)
    assert [o.status for o in ingest_landing(settings)] == ["loaded"]
    assert count(settings, "select count(*) from raw.unscheduled_events") == 2


def test_every_handed_over_file_is_archived_unchanged(settings, paths, events_xlsx):
    good = events_xlsx(paths["landing"] / "e.xlsx", [ROW])
    bad = paths["landing"] / "bad.xlsx"
    bad.write_bytes(b"garbage")
    outcomes = {o.uri: o for o in ingest_landing(settings)}
    for path in (good, bad):
        archived = outcomes[str(path)].archive_uri
        assert archived.startswith(str(paths["lake"] / "archive"))
        assert outcomes[str(path)].sha256 in archived
        with open(archived, "rb") as copy:
            assert copy.read() == path.read_bytes()


UTIL = ["2019.03.07", "PR-GAA", "B737NG", "4", "7:30", "4", "1:00", "1"]


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The URIs of the landed files ingestion fetches, in order."""
    fetched, original = [], prepare.read_bytes
    monkeypatch.setattr(
        prepare, "read_bytes", lambda uri, s: fetched.append(uri) or original(uri, s)
    )
    return fetched


def _later(path, seconds: float = 1.0) -> None:
    """Move a file's modification time on, as any rewrite a moment later would."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + int(seconds * 1e9)))


def test_files_listed_as_recorded_are_not_read_again(settings, paths, utilization_csv, reads):
    landing = paths["landing"]
    utilization_csv(landing / "a.csv", [UTIL])
    utilization_csv(landing / "b.csv", [UTIL[:1] + ["PR-GAB"] + UTIL[2:]])
    first = {o.uri: o.sha256 for o in ingest_landing(settings)}
    reads.clear()
    new = utilization_csv(landing / "c.csv", [UTIL[:1] + ["PR-GAC"] + UTIL[2:]])  # a delivery
    outcomes = ingest_landing(settings)
    assert reads == [str(new)]
    assert sorted((o.uri.rsplit("/", 1)[1], o.status) for o in outcomes) == [
        ("a.csv", "unchanged"),
        ("b.csv", "unchanged"),
        ("c.csv", "loaded"),
    ]
    assert all(first[o.uri] == o.sha256 for o in outcomes if o.status == "unchanged")
    assert count(settings, "select count(*) from raw.aircraft_utilization") == 3


def test_a_rewrite_of_the_same_size_is_read_and_replaces_the_rows(
    settings, paths, utilization_csv, reads
):
    path = utilization_csv(paths["landing"] / "u.csv", [UTIL])
    ingest_landing(settings)
    size = path.stat().st_size
    utilization_csv(path, [UTIL[:4] + ["8:30"] + UTIL[5:]])
    _later(path)  # the clock may not have ticked since the first write
    assert path.stat().st_size == size
    (outcome,) = ingest_landing(settings)
    assert outcome.status == "loaded"
    assert count(settings, "select list(block_hours) from raw.aircraft_utilization") == [8.5]


def test_a_touched_file_is_read_once_to_tell_it_is_unchanged(
    settings, paths, utilization_csv, reads
):
    path = utilization_csv(paths["landing"] / "u.csv", [UTIL])
    ingest_landing(settings)
    rows = snapshot(settings)["raw.aircraft_utilization"]
    _later(path)  # copied again, or touched: same content, new time
    reads.clear()
    assert [o.status for o in ingest_landing(settings)] == ["unchanged"]
    assert reads == [str(path)]
    reads.clear()
    assert [o.status for o in ingest_landing(settings)] == ["unchanged"]
    assert reads == []
    assert snapshot(settings)["raw.aircraft_utilization"] == rows


def test_recording_leaves_the_database_thread_setting_as_it_was(settings, paths, events_xlsx):
    events_xlsx(paths["landing"] / "e.xlsx", [ROW])
    with held_open(settings.warehouse), connect(settings.warehouse) as con:
        before = con.execute("select current_setting('threads')").fetchall()
        assert [o.status for o in ingest_landing(settings)] == ["loaded"]
        assert con.execute("select current_setting('threads')").fetchall() == before


def test_symlinks_load_their_file_or_are_recorded_as_skipped(
    settings, paths, events_xlsx, tmp_path
):
    from tasks.ingest import IngestSummary

    target = events_xlsx(tmp_path / "exports" / "e.xlsx", [ROW])
    (paths["landing"] / "e.xlsx").symlink_to(target)
    (paths["landing"] / "gone.xlsx").symlink_to(tmp_path / "exports" / "deleted.xlsx")
    outcomes = ingest_landing(settings)
    summary = IngestSummary(outcomes)
    assert summary.by_status == {"loaded": 1, "skipped": 1}
    assert not summary.rejected  # a link is not a bad export: the run does not fail for it
    assert "gone.xlsx: skipped, a symbolic link to" in summary.render()
    with connect(settings.warehouse, read_only=True) as con:
        recorded = con.execute(
            "select uri, status, error is not null from meta.ingested_files order by uri"
        ).fetchall()
    assert recorded == [
        (str(paths["landing"] / "e.xlsx"), "loaded", False),
        (str(paths["landing"] / "gone.xlsx"), "skipped", True),
    ]
    before = snapshot(settings)
    assert sorted(o.status for o in ingest_landing(settings)) == ["skipped", "unchanged"]
    assert snapshot(settings) == before
