"""A busy warehouse makes other processes wait and retry, and says who holds it when it gives up."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from warehouse.connection import WarehouseBusy, connect, writer_lock, writing


def hold(script: str, ready: Path) -> subprocess.Popen:
    """Run `script` in another process and wait until it says it holds the resource."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)])
    for _ in range(600):
        if ready.exists() or process.poll() is not None:
            break
        subprocess.run(["sleep", "0.05"], check=True)
    assert ready.exists(), "the holding process never got hold of the resource"
    return process


def test_a_second_writer_waits_for_the_first(tmp_path):
    db, ready, released = tmp_path / "w.duckdb", tmp_path / "ready", tmp_path / "released"
    holder = hold(
        f"""
        import time, pathlib
        from warehouse.connection import writer_lock
        with writer_lock({str(db)!r}):
            pathlib.Path({str(ready)!r}).touch()
            time.sleep(1.0)
            pathlib.Path({str(released)!r}).touch()
        """,
        ready,
    )
    with writer_lock(db, timeout=60):
        assert released.exists()  # we only got in after the other writer left
    holder.wait(timeout=30)


def test_a_writer_that_waited_too_long_is_told_who_holds_the_lock(tmp_path):
    db, ready = tmp_path / "w.duckdb", tmp_path / "ready"
    holder = hold(
        f"""
        import time, pathlib
        from warehouse.connection import writer_lock
        with writer_lock({str(db)!r}):
            pathlib.Path({str(ready)!r}).touch()
            time.sleep(30)
        """,
        ready,
    )
    try:
        with pytest.raises(WarehouseBusy, match=f"pid {holder.pid}"), writer_lock(db, timeout=0.3):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_readers_retry_while_another_process_has_the_database_open(tmp_path):
    db, ready, released = tmp_path / "w.duckdb", tmp_path / "ready", tmp_path / "released"
    holder = hold(
        f"""
        import time, pathlib, duckdb
        con = duckdb.connect({str(db)!r})
        con.execute("create table t as select 42 as answer")
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(1.0)
        pathlib.Path({str(released)!r}).touch()
        con.close()
        """,
        ready,
    )
    with connect(db, read_only=True, timeout=60) as con:
        assert released.exists()
        assert con.execute("select answer from t").fetchone() == (42,)
    holder.wait(timeout=30)


def test_a_reader_that_waited_too_long_gets_an_actionable_message(tmp_path):
    db, ready = tmp_path / "w.duckdb", tmp_path / "ready"
    holder = hold(
        f"""
        import time, pathlib, duckdb
        con = duckdb.connect({str(db)!r})
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(30)
        """,
        ready,
    )
    try:
        with (
            pytest.raises(WarehouseBusy, match="close the other program"),
            connect(db, read_only=True, timeout=0.3),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_writer_waiting_for_an_analysts_session_says_on_whom_it_waits(tmp_path, caplog):
    db, ready = tmp_path / "w.duckdb", tmp_path / "ready"
    with connect(db):
        pass
    analyst = hold(
        f"""
        import time, pathlib, duckdb
        con = duckdb.connect({str(db)!r}, read_only=True)
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(30)
        """,
        ready,
    )
    try:
        with (
            caplog.at_level("WARNING", logger="warehouse.connection"),
            pytest.raises(WarehouseBusy, match=f"held open by .+ \\(pid {analyst.pid}\\) for 1 s"),
            writing(db, timeout=1.0),
        ):
            pass
    finally:
        analyst.kill()
        analyst.wait()
    waits = [r.getMessage() for r in caplog.records if "waiting up to 1 s" in r.getMessage()]
    assert len(waits) == 1  # said once, not once per retry
    assert f"(pid {analyst.pid})" in waits[0]


def test_reading_a_warehouse_that_does_not_exist_says_how_to_create_it(tmp_path):
    with (
        pytest.raises(FileNotFoundError, match="hhcast ingest"),
        connect(tmp_path / "none.duckdb", read_only=True),
    ):
        pass


def test_the_newest_row_is_the_newest_after_an_incremental_delete(tmp_path):
    # Two full row groups; the newest days deleted and fewer, older ones appended in a third,
    # as an incremental build does when a corrected export shrinks the last month.
    with connect(tmp_path / "w.duckdb") as con:
        con.execute(
            "create table daily as select date '2000-01-01' + i::int as day "
            "from range(245760) r(i) order by day"
        )
        con.execute("delete from daily where day > date '2000-01-01' + 200000")
        con.execute(
            "insert into daily select date '2000-01-01' + 200001 + i::int from range(10) r(i)"
        )
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        (newest,) = con.execute("select max(day) from daily").fetchone()
        assert newest == date(2000, 1, 1) + timedelta(days=200010)
        top = con.execute("select day from daily order by day desc limit 1").fetchone()[0]
        assert top == newest


def test_a_warehouse_made_before_skipped_files_accepts_them_and_keeps_its_rows(tmp_path):
    from warehouse.connection import SCHEMA_DIR, ensure_schema

    path = tmp_path / "old.duckdb"
    before = (SCHEMA_DIR / "meta.sql").read_text().replace(", 'skipped')", ")")
    assert "'skipped'" not in before
    row = "('a.xlsx', 'abc', 1, null, null, 0, 0, 0, 'loaded', null, null, null, null, null, now())"
    with connect(path) as con:
        con.execute(before)
        con.execute(f"insert into meta.ingested_files values {row}")
    for _ in range(2):  # and a second time, as every run does, changes nothing
        with connect(path) as con:
            ensure_schema(con)
            con.execute(
                "insert or replace into meta.ingested_files (uri, sha256, bytes, rows_read, "
                "rows_loaded, rows_quarantined, status, ingested_at) "
                "values ('gone.xlsx', '', 0, 0, 0, 0, 'skipped', now())"
            )
    with connect(path, read_only=True) as con:
        rows = con.execute("select uri, status from meta.ingested_files order by uri").fetchall()
    assert rows == [("a.xlsx", "loaded"), ("gone.xlsx", "skipped")]


def test_a_warehouse_made_before_flight_plans_gets_their_table_and_keeps_its_rows(tmp_path):
    from warehouse.connection import SCHEMA_DIR, ensure_schema

    path = tmp_path / "old.duckdb"
    raw = (SCHEMA_DIR / "raw.sql").read_text()
    before = raw[: raw.index("-- Flight plans")]
    assert "flight_plan" not in before
    with connect(path) as con:
        con.execute(before)
        con.execute(
            "insert into raw.aircraft_utilization (is_placeholder, layout, source_file, "
            "source_row, loaded_at) values (true, 'standard', 'u.csv', 3, now())"
        )
    for _ in range(2):  # every run ensures the schema; the second time changes nothing
        with connect(path) as con:
            ensure_schema(con)
    with connect(path, read_only=True) as con:
        assert con.execute("select count(*) from raw.flight_plan").fetchone() == (0,)
        assert con.execute("select source_file from raw.aircraft_utilization").fetchall() == [
            ("u.csv",)
        ]
