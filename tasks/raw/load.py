"""Write one file's outcome to the warehouse in a single transaction: its rows, or none of them."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from tasks.raw.landing import LandedFile
from warehouse.connection import connect, first_row

# DuckDB connections are per thread; transactions of this process still go one at a time so
# a file's replacement of its earlier version never races another file's load.
_WRITE_LOCK = threading.Lock()

TERMINAL = ("loaded", "skipped_duplicate")  # statuses that need no further work on re-run
# Where a file's rows may be: its new version replaces them in each, whatever its source was.
RAW_TABLES = (
    "raw.unscheduled_events",
    "raw.aircraft_utilization",
    "raw.flight_plan",
    "meta.quarantine",
)


@dataclass(frozen=True)
class FileOutcome:
    """What ingestion did with one landed file (`unchanged` ones are reported; only their
    change marker is recorded)."""

    uri: str
    sha256: str
    bytes: int
    status: str  # loaded | rejected | skipped_duplicate | skipped | unchanged
    source: str | None = None
    layout: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    archive_uri: str | None = None
    modified: str | None = None  # landing's change marker when the file was listed
    first_date: date | None = None
    last_date: date | None = None


@dataclass(frozen=True)
class KnownFiles:
    """What the warehouse recorded of earlier files, to skip unchanged ones early."""

    statuses: dict[tuple[str, str], str]  # by (uri, sha256)
    listed: dict[tuple[str, int, str], str]  # sha256 of files needing no work, by listing

    def done(self, uri: str, sha256: str) -> bool:
        """Whether this content under this name needs no further work."""
        return self.statuses.get((uri, sha256)) in TERMINAL

    def unchanged(self, landed: LandedFile) -> FileOutcome | None:
        """The `unchanged` outcome of a file listed with the size and change marker it had
        when recorded, found without reading it; None if it must be read to tell."""
        digest = self.listed.get((landed.uri, landed.bytes, landed.modified))
        if digest is None:
            return None
        return FileOutcome(landed.uri, digest, landed.bytes, "unchanged", modified=landed.modified)


def known_files(warehouse: Path) -> KnownFiles:
    """Every (uri, sha256) the warehouse has seen, and how the files needing no work were listed."""
    with connect(warehouse) as con:
        rows = con.execute(
            "select uri, sha256, status, bytes, modified from meta.ingested_files"
        ).fetchall()
    return KnownFiles(
        statuses={(uri, digest): status for uri, digest, status, _, _ in rows},
        listed={
            (uri, size, modified): digest
            for uri, digest, status, size, modified in rows
            if status in TERMINAL and modified is not None
        },
    )


@dataclass(frozen=True)
class StagedFile:
    """A file ready to record: its outcome and, for a readable one, its rows."""

    outcome: FileOutcome
    table: str | None = None
    rows: pl.DataFrame | None = None
    quarantine: pl.DataFrame | None = None
    trace: str | None = None  # traceback of an unexpected failure to read it, logged once

    @property
    def row_count(self) -> int:
        return 0 if self.rows is None else self.rows.height


def record(warehouse: Path, staged: list[StagedFile]) -> list[FileOutcome]:
    """Record files in one transaction: each loaded file replaces its earlier version's rows.

    Every file's rows go in together or not at all; grouping several files in a transaction
    makes DuckDB write their rows straight to the database file instead of once to the WAL
    and again at the checkpoint. Returns the outcomes as recorded (a loaded file whose content
    is already in the warehouse under another name becomes `skipped_duplicate`).
    """
    if not staged:
        return []
    now = datetime.now(UTC)
    batch = _Batch(now)
    with _WRITE_LOCK, connect(warehouse) as con:
        # Appends and bookkeeping are serial work: DuckDB's thread pool only adds a quarter to
        # their CPU, taken from the workers preparing the next files. The setting is the
        # database's, so it is put back for whatever else this process runs.
        con.execute("set threads = 1")
        con.begin()
        try:
            batch.in_warehouse = _loaded_versions(con, [item.outcome for item in staged])
            recorded = [_record_one(con, item, batch) for item in staged]
            _upsert_files(con, batch.files, now)
            # One append per table: DuckDB appends large frames much faster than many small.
            for table, frames in batch.rows.items():
                _insert(con, table, pl.concat(frames, how="vertical_relaxed"))
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            con.execute("reset threads")
    return recorded


@dataclass
class _Batch:
    """What a batch's files add, written together once every file is decided."""

    now: datetime
    files: list[FileOutcome] = field(default_factory=list)  # rows of meta.ingested_files
    rows: dict[str, list[pl.DataFrame]] = field(default_factory=lambda: defaultdict(list))
    loaded: dict[str, str] = field(default_factory=dict)  # uri by sha256, of files loaded here
    # (uri, sha256) of the versions loaded before, sharing a name or content with this batch
    in_warehouse: set[tuple[str, str]] = field(default_factory=set)

    def twin(self, outcome: FileOutcome) -> str | None:
        """The file already loaded, here or before, with this content under another name."""
        before = sorted(
            uri for uri, sha in self.in_warehouse if sha == outcome.sha256 and uri != outcome.uri
        )
        return self.loaded.get(outcome.sha256) or (before[0] if before else None)

    def supersede(self, outcome: FileOutcome) -> bool:
        """Whether an earlier version of this file (same name, other content) gives way to it."""
        earlier = {(u, s) for u, s in self.in_warehouse if u == outcome.uri and s != outcome.sha256}
        self.in_warehouse -= earlier
        return bool(earlier)


def _loaded_versions(
    con: duckdb.DuckDBPyConnection, outcomes: list[FileOutcome]
) -> set[tuple[str, str]]:
    # One query for the batch instead of two per file (a few hundred microseconds each).
    loading = [o for o in outcomes if o.status == "loaded"]
    if not loading:
        return set()
    rows = con.execute(
        "select uri, sha256 from meta.ingested_files where status = 'loaded' "
        "and (list_contains(?, uri) or list_contains(?, sha256))",
        [[o.uri for o in loading], [o.sha256 for o in loading]],
    ).fetchall()
    return set(rows)


def _record_one(con: duckdb.DuckDBPyConnection, item: StagedFile, batch: _Batch) -> FileOutcome:
    outcome = item.outcome
    if outcome.status == "loaded":
        outcome = _load(con, outcome, item, batch)
    elif outcome.status == "unchanged":
        # Read again only because its listing changed (a copy, a touch): next time it need not be.
        con.execute(
            "update meta.ingested_files set modified = ? where uri = ? and sha256 = ?",
            [outcome.modified, outcome.uri, outcome.sha256],
        )
        return outcome
    elif _recorded_alike(con, outcome):
        return outcome
    batch.files.append(outcome)
    return outcome


def _load(
    con: duckdb.DuckDBPyConnection, outcome: FileOutcome, item: StagedFile, batch: _Batch
) -> FileOutcome:
    """Replace an earlier version of the file, then queue its rows for the batch's append."""
    twin = batch.twin(outcome)
    if twin:
        return replace(
            outcome,
            status="skipped_duplicate",
            rows_loaded=0,
            rows_quarantined=0,
            error=f"same content as {twin}, already loaded; its rows were not loaded twice",
        )
    batch.loaded[outcome.sha256] = outcome.uri
    if batch.supersede(outcome):
        # An earlier version of this file (same name, other content) gives way to this one.
        con.execute(
            "update meta.ingested_files set status = 'superseded' "
            "where uri = ? and sha256 <> ? and status = 'loaded'",
            [outcome.uri, outcome.sha256],
        )
        for replaced in RAW_TABLES:
            con.execute(f"delete from {replaced} where source_file = ?", [outcome.uri])
    lineage = [
        pl.lit(outcome.layout).alias("layout"),
        pl.lit(outcome.uri).alias("source_file"),
        pl.lit(batch.now).alias("loaded_at"),
    ]
    batch.rows[item.table].append(item.rows.with_columns(lineage))
    if item.quarantine.height:
        batch.rows["meta.quarantine"].append(
            item.quarantine.with_columns(
                pl.lit(outcome.uri).alias("source_file"),
                pl.lit(outcome.sha256).alias("source_sha256"),
                pl.lit(batch.now).alias("ingested_at"),
            )
        )
    return outcome


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    if frame.height:
        con.register("incoming", frame.to_arrow())
        con.execute(f"insert into {table} by name select * from incoming")
        con.unregister("incoming")


def _recorded_alike(con: duckdb.DuckDBPyConnection, outcome: FileOutcome) -> bool:
    # A file rejected or skipped again for the same reason changes no row: re-runs stay
    # idempotent.
    previous = first_row(
        con,
        "select status, error from meta.ingested_files where uri = ? and sha256 = ?",
        [outcome.uri, outcome.sha256],
    )
    return previous == (outcome.status, outcome.error)


def _upsert_files(
    con: duckdb.DuckDBPyConnection, outcomes: list[FileOutcome], now: datetime
) -> None:
    # One statement for the batch: an `insert or replace` costs milliseconds per statement.
    if not outcomes:
        return
    columns = [*asdict(outcomes[0]), "ingested_at"]
    values = [value for o in outcomes for value in [*asdict(o).values(), now]]
    placeholders = f"({', '.join('?' for _ in columns)})"
    con.execute(
        f"insert or replace into meta.ingested_files ({', '.join(columns)}) "
        f"values {', '.join(placeholders for _ in outcomes)}",
        values,
    )
