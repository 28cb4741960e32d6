"""The one place that opens the DuckDB warehouse: short-lived connections, one writer at a time.

DuckDB lets a single process hold a database file open for writing, and while it does no
other process can open it at all. Prefect runs every flow run in its own process and analysts
query from theirs, so connections here are short-lived, writers queue on a lock file beside
the database, and anyone who finds the file busy waits with backoff instead of crashing.
Analysts need not wait: they read the replica each writing flow publishes (replica.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from hhcast.config import WarehouseSettings

SCHEMA_DIR = Path(__file__).parent / "schema"
SCHEMA_FILES = ("raw.sql", "meta.sql", "ml.sql", "forecasts.sql")
VIEWS_FILE = "views.sql"  # views over those tables, replaced when the file changes

log = logging.getLogger(__name__)
# DuckDB 2.0's top-N row-group pruner answers `order by <column> limit n` from row groups'
# statistics, which still count rows an incremental build deleted: on int_aircraft_daily it
# skipped the row group holding the newest days and gave a last day weeks early (the same
# family as duckdb/duckdb#22949). Off for every connection hhcast opens, analysts' `hhcast
# sql` included; such a query then reads every row group, milliseconds at this size.
DUCKDB_CONFIG = {"disabled_optimizers": "row_group_pruner"}


class WarehouseBusy(RuntimeError):
    """The warehouse stayed locked by another process for longer than we were willing to wait."""


class WarehouseUnavailable(RuntimeError):
    """The warehouse (or its lock file) cannot be created or opened where the config puts it."""


@contextmanager
def connect(
    path: str | Path, *, read_only: bool = False, timeout: float = 60.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for the duration of a block, retrying while another process holds it.

    Open one connection per thread (DuckDB connections are not thread-safe); connections of
    one process to the same file share a single database instance, so that is cheap.
    """
    path = Path(path)
    if not read_only:
        _make_parent(path)
    elif not path.exists():
        raise FileNotFoundError(
            f"warehouse {path} does not exist yet: run `hhcast ingest` (or `hhcast demo`) first"
        )
    con = _connect_with_retry(path, read_only=read_only, timeout=timeout)
    try:
        yield con
    finally:
        con.close()


def _make_parent(path: Path) -> None:
    """Create the warehouse's folder, or say plainly why it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # read-only, no permission, or a file where a folder should be
        raise WarehouseUnavailable(
            f"warehouse {path}: cannot create its folder {path.parent} ({exc.strerror or exc}); "
            "point HHCAST_WAREHOUSE (or `warehouse` in hhcast.yaml) at a writable folder",
        ) from exc


def _connect_with_retry(
    path: Path, *, read_only: bool, timeout: float
) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout
    delay, announced = 0.05, False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseUnavailable(
                    f"warehouse {path} cannot be opened: {exc}. Check the file and its folder "
                    "are readable (and writable, for a flow), or point HHCAST_WAREHOUSE at "
                    "another file",
                ) from exc
            holder = lock_holder(str(exc))
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"warehouse {path} has been held open by {holder} for {timeout:.0f} s. "
                    "Wait for the running hhcast flow to finish, or close the other program "
                    "holding the file (a DuckDB shell, a notebook, DBeaver), then retry."
                ) from exc
            if not announced:
                log.warning(
                    "waiting up to %.0f s for warehouse %s, held open by %s", timeout, path, holder
                )
                announced = True
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def lock_holder(message: str) -> str:
    """Who holds a DuckDB file, from DuckDB's lock error ('... held in <program> (PID n)')."""
    found = re.search(r"held in (.+?) \(PID (\d+)\)", message)
    if found is None:
        return "another process"
    return f"{found.group(1)} (pid {found.group(2)})"


@contextmanager
def held_open(path: str | Path, *, timeout: float = 60.0) -> Iterator[None]:
    """Keep the warehouse open in this process for a block, so each task's connection is cheap.

    A process's connections to one file share a database instance, which DuckDB closes (and
    checkpoints) when the last connection goes: opening and closing per file costs tens of
    milliseconds each time. Other processes wait for the block to end, as for any writer.
    """
    with connect(path, timeout=timeout):
        yield


@contextmanager
def writer_lock(path: str | Path, *, timeout: float = 900.0) -> Iterator[None]:
    """Hold the warehouse's single-writer lock (a lock file beside it) for a block.

    A second writer waits here, logging who holds the lock, instead of failing on DuckDB's
    own file lock halfway through its work.
    """
    lock_path = Path(f"{path}.lock")
    _make_parent(Path(path))
    try:
        handle = open(lock_path, "a+")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise WarehouseUnavailable(
            f"warehouse {path}: cannot create its lock file {lock_path} ({exc.strerror or exc}); "
            "the warehouse's folder must be writable by whoever runs hhcast",
        ) from exc
    with handle:
        deadline = time.monotonic() + timeout
        delay, announced = 0.1, False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"warehouse {path} is being written by {holder} and stayed locked for "
                        f"{timeout:.0f} s; wait for that run to finish or raise "
                        "warehouse.writer_lock_timeout_seconds"
                    ) from None
                if not announced:
                    log.warning("waiting for the warehouse writer lock held by %s", holder)
                    announced = True
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        handle.seek(0)
        handle.truncate()
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {since}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def writing(path: str | Path, *, timeout: float) -> Iterator[None]:
    """A flow's hold on the warehouse: the writer lock, then the file held open in this process.

    Both waits, for another writer's lock and for a reader's open connection (an analyst's
    DuckDB shell), last up to `timeout` seconds, each logging who it waits on.
    """
    with writer_lock(path, timeout=timeout), held_open(path, timeout=timeout):
        yield


@contextmanager
def locked(warehouse: WarehouseSettings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer lock and a connection with the schema in place, for one short read or write.

    Reads take the lock too: while another run writes, DuckDB will not even open the file, so
    a run waits its turn (logging who holds it) for `writer_lock_timeout_seconds`.
    """
    wait = warehouse.writer_lock_timeout_seconds
    with writer_lock(warehouse, timeout=wait), connect(warehouse, timeout=wait) as con:
        ensure_schema(con)
        yield con


def append(con: duckdb.DuckDBPyConnection, table: str, rows) -> None:
    """Insert a polars frame's rows into `table`, matching columns by name."""
    con.register("appended_rows", rows.to_arrow())
    try:
        con.execute(f"insert into {table} by name select * from appended_rows")
    finally:
        con.unregister("appended_rows")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw, meta and ml schemas and tables if they do not exist yet, and add the
    columns later versions introduced to older tables (idempotent)."""
    _widen_file_statuses(con)
    for name in SCHEMA_FILES:
        con.execute((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    _ensure_views(con)


def _ensure_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the views of views.sql when its text changed: the text's digest is kept as
    each view's comment (replacing them on every connection cost ~30 ms)."""
    text = (SCHEMA_DIR / VIEWS_FILE).read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    views = re.findall(r"^create or replace view (\S+)", text, flags=re.MULTILINE)
    current = dict(
        con.execute(
            "select schema_name || '.' || view_name, comment from duckdb_views() "
            "where schema_name || '.' || view_name in (select unnest(?::varchar[]))",
            [views],
        ).fetchall()
    )
    if all(current.get(view) == digest for view in views):
        return
    con.execute(text)
    for view in views:
        con.execute(f"comment on view {view} is '{digest}'")


def _widen_file_statuses(con: duckdb.DuckDBPyConnection) -> None:
    """Give a warehouse made before files could be `skipped` the status check of meta.sql.

    DuckDB cannot alter a check constraint, so the table is created anew and its rows copied.
    """
    ddl = first_row(
        con,
        "select sql from duckdb_tables() "
        "where schema_name = 'meta' and table_name = 'ingested_files'",
    )
    if ddl is None or "'skipped'" in ddl[0]:
        return
    con.begin()
    try:
        con.execute("alter table meta.ingested_files rename to ingested_files_before_skipped")
        con.execute((SCHEMA_DIR / "meta.sql").read_text(encoding="utf-8"))
        con.execute(
            "insert into meta.ingested_files by name "
            "select * from meta.ingested_files_before_skipped"
        )
        con.execute("drop table meta.ingested_files_before_skipped")
        con.commit()
    except BaseException:
        con.rollback()
        raise


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, or None; the whole result is drained so the connection is free.

    DuckDB 2 refuses further work on a connection whose last result was not read to the end.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None
