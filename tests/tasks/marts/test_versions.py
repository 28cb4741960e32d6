"""Dataset versions: content addresses of the marts, recorded with the files they came from."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from raw_rows import RawWarehouse, event, flight

from tasks.marts.build import BuildPlan
from tasks.marts.versions import record_version
from warehouse.connection import connect

FILES = [("file:///landing/u1.csv", "a" * 64), ("file:///landing/e1.xlsx", "b" * 64)]
PLAN = BuildPlan("full", "test", "fingerprint", FILES)


@pytest.fixture
def raw(settings) -> RawWarehouse:
    raw = RawWarehouse(settings)
    days = [date(2024, 1, 3), date(2024, 1, 10), date(2024, 1, 17)]
    raw.add(
        events=[event(day=d, hh=1.5) for d in days],
        flights=[flight(day=d, hours=8.0) for d in days],
    )
    raw.build()
    return raw


def version(settings):
    with connect(settings.warehouse) as con:
        return record_version(con, PLAN, settings)


def test_an_unchanged_rebuild_is_the_same_version_recorded_once(settings, raw):
    first = version(settings)
    raw.build()
    again = version(settings)
    assert first.is_new and not again.is_new
    assert again.version_id == first.version_id
    files = raw.query(
        f"select uri, sha256 from meta.dataset_version_files where version_id = "
        f"'{first.version_id}' order by uri"
    )
    assert files == sorted(FILES)


def test_one_changed_value_is_a_new_version(settings, raw):
    first = version(settings)
    raw.add(events=[event(day=date(2024, 1, 10), hh=0.25, file="late.xlsx")])
    raw.build()
    changed = version(settings)
    assert changed.is_new and changed.version_id != first.version_id
    hashes = raw.query("select marts from meta.dataset_versions order by built_at")
    assert hashes[0] != hashes[1]


def test_the_snapshot_holds_the_weekly_table_as_built_in_week_order(settings, raw):
    assert len(raw.query("select * from marts.features_weekly")) > 1  # so order can differ
    recorded = version(settings)
    weekly = "select * from marts.features_weekly order by week_start"
    snapshot = f"select * from read_parquet('{recorded.snapshot_uri}')"
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute(snapshot).fetchall() == con.execute(weekly).fetchall()
        columns = [con.execute(f"describe {q}").fetchall() for q in (snapshot, weekly)]
    assert [c[:2] for c in columns[0]] == [c[:2] for c in columns[1]]  # names and types


def test_days_that_complete_no_week_keep_what_training_reads(settings):
    raw = RawWarehouse(settings)
    days = [date(2024, 1, 1) + timedelta(days=d) for d in range(35)]  # January, to Sunday 4 Feb
    raw.add(
        events=[event(day=d, hh=1.5) for d in days],
        flights=[flight(day=d, hours=8.0) for d in days],
    )
    raw.build()
    first = version(settings)
    # A flight and its work on the Tuesday after: a new version, the same complete weeks.
    raw.add(
        events=[event(day=date(2024, 2, 6), hh=2.0, file="next.xlsx")],
        flights=[flight(day=date(2024, 2, 6), hours=5.0, file="next.csv")],
    )
    raw.build()
    later = version(settings)
    assert first.is_new and later.is_new and later.version_id != first.version_id
    rows = raw.query(
        "select training_hash, last_complete_week from meta.dataset_versions order by built_at"
    )
    assert rows[0] == rows[1]
    assert rows[0][1] == date(2024, 1, 22)  # the last week of January's month, complete
