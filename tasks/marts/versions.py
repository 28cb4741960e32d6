"""Dataset versions: a content address for what a build produced, and a snapshot to train on."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from hhcast.config import Settings
from tasks.marts.build import BuildPlan
from warehouse.connection import first_row
from warehouse.lake import filesystem, uri_for

SNAPSHOT_TABLE = "marts.features_weekly"
# The last day both sources cover. Aggregates, not top-1 queries: after an incremental
# build's delete DuckDB 2.0's top-N row-group pruner trusts stale statistics (see
# sql/marts/features_weekly.sql).
COVERAGE_END = """
select least(
    max(day) filter (where has_utilization),
    max(day) filter (where hh > 0)
)
from intermediate.int_aircraft_daily
"""

# What training reads: the complete weeks (tasks/ml/dataset.py), hashed like table_hashes.
TRAINING_WEEKS = f"""
select coalesce(sum(hash(t)), 0)::varchar, max(week_start)
from {SNAPSHOT_TABLE} t
where is_complete
"""


@dataclass(frozen=True)
class DatasetVersion:
    """A recorded build of the marts."""

    version_id: str
    is_new: bool
    weeks: int
    first_week: object
    last_week: object
    snapshot_uri: str | None


def table_hashes(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, dict]:
    """Row count and an order-independent hash (a sum of row hashes) of each table, at once."""
    if not tables:
        return {}
    query = " union all ".join(
        f"select '{t}', count(*), coalesce(sum(hash(t)), 0)::varchar from {t} t" for t in tables
    )
    return {t: {"rows": n, "hash": h} for t, n, h in con.execute(query).fetchall()}


def record_version(
    con: duckdb.DuckDBPyConnection, plan: BuildPlan, settings: Settings
) -> DatasetVersion:
    """Record the marts as built (unless this exact content and file set is known already)."""
    marts = [
        f"marts.{name}"
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE' order by table_name"
        ).fetchall()
    ]
    per_table = table_hashes(con, marts)
    content_hash = hashlib.sha256(json.dumps(per_table, sort_keys=True).encode()).hexdigest()
    files = sorted(plan.files)
    version_id = hashlib.sha256(f"{content_hash}\n{files}".encode()).hexdigest()[:16]
    weeks, first_week, last_week = first_row(
        con, f"select count(*), min(week_start), max(week_start) from {SNAPSHOT_TABLE}"
    )
    known = first_row(
        con, "select snapshot_uri from meta.dataset_versions where version_id = ?", [version_id]
    )
    if known:
        return DatasetVersion(version_id, False, weeks, first_week, last_week, known[0])
    coverage_end = first_row(con, COVERAGE_END)[0]
    training_hash, last_complete_week = first_row(con, TRAINING_WEEKS)
    snapshot_uri = _snapshot(con, version_id, settings)
    window = plan.window
    con.begin()
    con.execute(
        "insert into meta.dataset_versions (version_id, built_at, mode, reason, window_start, "
        "window_end, fingerprint, content_hash, marts, weeks, first_week, last_week, "
        "coverage_end, snapshot_uri, training_hash, last_complete_week) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            version_id, datetime.now(UTC), plan.mode, plan.reason,
            window.start if window else None, window.end if window else None,
            plan.fingerprint, content_hash, json.dumps(per_table), weeks, first_week,
            last_week, coverage_end, snapshot_uri, training_hash, last_complete_week,
        ],
    )  # fmt: skip
    # One statement for all the files (executemany runs one insert per row).
    con.execute(
        "insert into meta.dataset_version_files "
        "select ?, unnest(?::varchar[]), unnest(?::varchar[])",
        [version_id, [uri for uri, _ in files], [digest for _, digest in files]],
    )
    con.commit()
    return DatasetVersion(version_id, True, weeks, first_week, last_week, snapshot_uri)


def _snapshot(con: duckdb.DuckDBPyConnection, version_id: str, settings: Settings) -> str:
    """Keep the weekly table of this version in the lake, so training can read it later."""
    fs, root = filesystem(settings.lake, settings)
    path = f"{root}/datasets/features_weekly/{version_id}.parquet"
    # DuckDB writes the file itself: through polars, a flow run's fresh process spent 50-100 ms,
    # most of it importing polars, on a table of a thousand rows (now ~10 ms).
    with tempfile.TemporaryDirectory() as tmp:
        local = f"{tmp}/{version_id}.parquet"
        con.execute(
            f"copy (select * from {SNAPSHOT_TABLE} order by week_start) "
            f"to '{local}' (format parquet, compression zstd)"
        )
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(local, path)
    return uri_for(settings.lake, path)
