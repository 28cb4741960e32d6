"""Readers of the replica never fail and never see half a run, and never hold up the writer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hhcast.config import WarehouseSettings
from warehouse.connection import connect, ensure_schema, writing
from warehouse.replica import ReplicaError, lag, publish, read_stamp

# A folder no one may create anything in, root included (sysfs refuses new entries).
UNWRITABLE = Path("/sys/hhcast-tests")

# An analyst's client in its own process: query the replica in a loop, each time checking
# that what it reads is one committed state (the rows, the view over them, the state's own
# row and the replica's stamp all agree), until told to stop. `fresh` opens a connection per
# query, as `hhcast sql` does; `held` keeps the first one open, as a DBeaver session does.
READER = textwrap.dedent(
    """
    import json, os, pathlib, sys, duckdb
    replica, stop, report, mode = sys.argv[1:5]
    stats = {"queries": 0, "failures": [], "inconsistent": [], "generations": []}
    held = duckdb.connect(replica, read_only=True) if mode == "held" else None
    while not pathlib.Path(stop).exists():
        try:
            con = held or duckdb.connect(replica, read_only=True)
            rows, viewed, oldest, newest, generation, n, version, source = con.execute(
                "select (select count(*) from raw.t), (select count(*) from staging.v), "
                "(select min(generation) from raw.t), (select max(generation) from raw.t), "
                "s.generation, s.n, r.dataset_version, r.source_file "
                "from meta.t_state s, meta.replica r"
            ).fetchall()[0]
            if held is None:
                con.close()
        except Exception as exc:
            stats["failures"].append(repr(exc)[:300])
            continue
        stats["queries"] += 1
        if not (rows == viewed == n and newest == generation and oldest >= 1
                and version == f"g{generation}"):
            stats["inconsistent"].append([rows, viewed, n, oldest, newest, generation, version])
        if generation not in stats["generations"]:
            stats["generations"].append(generation)
            seen = pathlib.Path(report + ".seen")
            pathlib.Path(report + ".tmp").write_text(str(generation))
            os.replace(report + ".tmp", seen)
    pathlib.Path(report).write_text(json.dumps(stats))
    """
)


def _settings(tmp_path: Path) -> WarehouseSettings:
    return WarehouseSettings(path=tmp_path / "wh" / "hhcast.duckdb")


def _commit_full(con, generation: int, rows: int) -> None:
    """A full build: every row replaced in one transaction, like a pipeline's first run."""
    con.begin()
    con.execute(
        "create or replace table raw.t as "
        "select i as k, ? as generation, random() as v from range(?) r(i)",
        [generation, rows],
    )
    _record_state(con, generation)
    con.commit()


def _commit_incremental(con, generation: int) -> None:
    """An incremental build: a slice of the rows deleted and written anew, one transaction."""
    con.begin()
    con.execute("delete from raw.t where k % 7 = ?", [generation % 7])
    con.execute(
        "insert into raw.t select i, ?, random() from range(?) r(i) where i % 7 = ?",
        [generation, 200_000 + 1_000 * generation, generation % 7],
    )
    _record_state(con, generation)
    con.commit()


def _record_state(con, generation: int) -> None:
    con.execute("create or replace table meta.t_state as select ? as generation, count(*) as n "
                "from raw.t", [generation])  # fmt: skip
    con.execute(
        "insert into meta.dataset_versions (version_id, built_at, mode, fingerprint, "
        "content_hash, marts, weeks) values (?, now(), 'full', 'f', 'h', '{}', 1)",
        [f"g{generation}"],
    )


def _create(con) -> None:
    ensure_schema(con)
    con.execute("create schema if not exists staging")
    _commit_full(con, 1, 150_000)
    con.execute("create or replace view staging.v as select * from raw.t")


def _start_reader(tmp_path: Path, replica: Path, name: str, mode: str) -> tuple:
    report = tmp_path / f"{name}.json"
    process = subprocess.Popen(
        [sys.executable, "-c", READER, str(replica), str(tmp_path / "stop"), str(report), mode]
    )
    return process, report


def _wait_until_seen(readers, generation: int) -> None:
    """Wait until every looping reader has read `generation` (a minute at most)."""
    deadline = time.monotonic() + 60
    for process, report in readers:
        seen = Path(f"{report}.seen")
        while not (seen.exists() and int(seen.read_text()) >= generation):
            assert process.poll() is None, f"reader {report.stem} died"
            assert time.monotonic() < deadline, (
                f"reader {report.stem} never saw generation {generation}"
            )
            time.sleep(0.02)


def test_readers_see_one_committed_state_while_full_and_incremental_runs_publish(tmp_path):
    warehouse = _settings(tmp_path)
    with writing(warehouse, timeout=30), connect(warehouse) as con:
        _create(con)
        publish(con, warehouse, published_by="test")
        readers = [
            _start_reader(tmp_path, warehouse.replica_path, f"r{i}", "fresh") for i in (1, 2)
        ]
        held = _start_reader(tmp_path, warehouse.replica_path, "held", "held")
        try:
            _wait_until_seen([*readers, held], 1)
            for generation in range(2, 9):
                if generation == 5:  # a full rebuild in the middle, bigger than the first
                    _commit_full(con, generation, 400_000)
                else:
                    _commit_incremental(con, generation)
                publish(con, warehouse, published_by="test")
                _wait_until_seen(readers, generation)
        finally:
            (tmp_path / "stop").touch()
            for process, _ in [*readers, held]:
                process.wait(timeout=60)
    for _, report in readers:
        stats = json.loads(report.read_text())
        assert stats["failures"] == [] and stats["inconsistent"] == []
        assert stats["generations"] == list(range(1, 9))
        assert stats["queries"] >= 8
    stats = json.loads(held[1].read_text())
    # the session kept open reads the replica it opened, consistent, all along
    assert stats["failures"] == [] and stats["inconsistent"] == []
    assert stats["generations"] == [1] and stats["queries"] >= 1


HOLDER = textwrap.dedent(
    """
    import pathlib, sys, time, duckdb
    replica, ready, release, read_only = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    con = duckdb.connect(replica, read_only=read_only == "ro")
    before = con.execute("select generation from meta.t_state").fetchall()[0][0]
    pathlib.Path(ready).touch()
    while not pathlib.Path(release).exists():
        time.sleep(0.02)
    after = con.execute("select generation from meta.t_state").fetchall()[0][0]
    sys.exit(0 if before == after == 1 else 3)
    """
)


@pytest.mark.parametrize("read_only", ["ro", "rw"])
def test_a_session_holding_the_replica_never_holds_up_the_writer(tmp_path, read_only):
    warehouse = _settings(tmp_path)
    with writing(warehouse, timeout=30), connect(warehouse) as con:
        _create(con)
        publish(con, warehouse, published_by="test")
    ready, release = tmp_path / "ready", tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse.replica_path), str(ready), str(release),
         read_only]
    )  # fmt: skip
    try:
        while not ready.exists():
            assert holder.poll() is None, "the holding session did not start"
            time.sleep(0.02)
        # DuckDB would refuse this writer the file the session holds (read-write: any
        # open); the swap leaves that file to the session and gives the path a new one
        with writing(warehouse, timeout=0), connect(warehouse) as con:
            _commit_incremental(con, 2)
            published = publish(con, warehouse, published_by="test")
        assert holder.poll() is None  # still holding its replica
    finally:
        release.touch()
    assert holder.wait(timeout=60) == 0  # and it read generation 1 before and after
    assert published is not None
    if read_only == "ro":
        with connect(warehouse.replica_path, read_only=True) as replica:
            assert replica.execute("select generation from meta.t_state").fetchall() == [(2,)]


def test_the_stamp_says_what_the_replica_holds_and_lag_sees_later_commits(tmp_path):
    warehouse = _settings(tmp_path)
    before = datetime.now(UTC)
    left = warehouse.path.parent / ".hhcast_read.duckdb.999999.tmp"  # a publisher killed midway
    left.parent.mkdir(parents=True)
    left.write_bytes(b"half a copy")
    with writing(warehouse, timeout=30), connect(warehouse) as con:
        _create(con)
        published = publish(con, warehouse, published_by="transform")
    with connect(warehouse.replica_path, read_only=True) as replica:
        stamp = read_stamp(replica)
        assert replica.execute("select count(*) from meta.replica").fetchall() == [(1,)]
    assert stamp == published.stamp
    assert stamp.published_by == "transform" and stamp.dataset_version == "g1"
    assert stamp.source_file == str(warehouse.path.resolve())
    assert stamp.published_at >= before
    assert stamp.size_bytes == warehouse.path.stat().st_size  # the bytes copied
    assert stamp.code_version
    assert lag(warehouse, stamp) is None
    assert not list(warehouse.replica_path.parent.glob(".*tmp*"))  # no staged copy is left

    with connect(warehouse) as con:  # a commit the replica does not hold yet
        con.execute("insert into meta.t_state values (99, 0)")
    assert lag(warehouse, stamp) is not None
    with connect(warehouse) as live:  # the stamp lives in the replica only
        assert read_stamp(live) is None


def test_no_replica_configured_publishes_nothing(tmp_path):
    warehouse = WarehouseSettings(path=tmp_path / "hhcast.duckdb", replica="")
    assert warehouse.replica_path is None
    with connect(warehouse) as con:
        _create(con)
        assert publish(con, warehouse, published_by="test") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hhcast.duckdb"]


def test_a_replica_that_cannot_be_written_is_a_message_and_leaves_the_warehouse_be(tmp_path):
    warehouse = WarehouseSettings(
        path=tmp_path / "hhcast.duckdb", replica=UNWRITABLE / "hhcast_read.duckdb"
    )
    with connect(warehouse) as con:
        _create(con)
        with pytest.raises(ReplicaError, match="cannot write it in /sys/hhcast-tests") as caught:
            publish(con, warehouse, published_by="test")
        assert "HHCAST_WAREHOUSE__REPLICA" in str(caught.value)
        assert con.execute("select generation from meta.t_state").fetchall() == [(1,)]


def test_a_replica_naming_the_warehouse_itself_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is the warehouse itself"):
        WarehouseSettings(path=tmp_path / "hhcast.duckdb", replica="hhcast.duckdb")


def test_hhcasts_connections_to_the_replica_get_the_newest_row_after_an_incremental_delete(
    tmp_path,
):
    # The replica is the warehouse's file, its row-group statistics included: hhcast's own
    # connections to it turn DuckDB 2.0's top-N pruner off too (README, "Querying the results").
    warehouse = _settings(tmp_path)
    with writing(warehouse, timeout=30), connect(warehouse) as con:
        con.execute(
            "create table daily as select date '2000-01-01' + i::int as day "
            "from range(245760) r(i) order by day"
        )
        con.execute("delete from daily where day > date '2000-01-01' + 200000")
        con.execute(
            "insert into daily select date '2000-01-01' + 200001 + i::int from range(10) r(i)"
        )
        publish(con, warehouse, published_by="transform")
    with connect(warehouse.replica_path, read_only=True) as replica:
        newest = replica.execute("select max(day) from daily").fetchall()
        top = replica.execute("select day from daily order by day desc limit 1").fetchall()
    assert top == newest
