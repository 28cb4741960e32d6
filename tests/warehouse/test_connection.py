"""A busy warehouse makes other processes wait and retry, and says who holds it when it gives up."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from warehouse.connection import WarehouseBusy, connect, writer_lock


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


def test_reading_a_warehouse_that_does_not_exist_says_how_to_create_it(tmp_path):
    with (
        pytest.raises(FileNotFoundError, match="hhcast ingest"),
        connect(tmp_path / "none.duckdb", read_only=True),
    ):
        pass
