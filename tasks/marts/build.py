"""Plan a build (full, incremental over a window of weeks, or nothing to do) and run models."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from hhcast.config import Settings
from tasks.marts.project import SqlModel, Window, render
from warehouse.connection import first_row


@dataclass(frozen=True)
class BuildPlan:
    """What a build will do, and why."""

    mode: str  # full | incremental | up_to_date
    reason: str
    fingerprint: str
    files: list[tuple[str, str]]  # (uri, sha256) of every loaded file the build covers
    window: Window | None = None

    def window_for(self, model: SqlModel) -> Window | None:
        """The window `build_model` gets: an incremental build's, for incremental tables and
        for views (left as they are: the plan found their SQL unchanged); None for the rest,
        which are rebuilt whole."""
        return self.window if model.materialized != "table" else None


@dataclass(frozen=True)
class ModelRun:
    """How one model was built."""

    name: str
    materialized: str
    mode: str  # view | unchanged (a view an incremental build keeps) | full | incremental
    rows: int | None
    seconds: float


def week_start(day: date, settings: Settings) -> date:
    """The first day of the calendar week holding `day`, by `features.week_starts_on`."""
    offset = day.isoweekday() % 7 if settings.features.week_starts_on == "sunday" else day.weekday()
    return day - timedelta(days=offset)


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def affected_window(first: date, last: date, settings: Settings) -> Window:
    """Every week whose features can change when rows dated `first`..`last` change.

    The weeks holding those days; every week of their calendar months (`sum_uti_mensal`; a
    week belongs to the month of its fourth day); and the weeks after them whose lags and
    rolling means read them.
    """
    lookback = timedelta(weeks=settings.features.lookback_weeks)
    start = week_start(first.replace(day=1) - timedelta(days=3), settings)
    end = max(
        week_start(last, settings), week_start(_month_end(last) - timedelta(days=3), settings)
    )
    end += lookback + timedelta(days=6)
    return Window(start=start, end=end, lookback_start=start - lookback)


def plan_build(
    con: duckdb.DuckDBPyConnection,
    models: list[SqlModel],
    settings: Settings,
    fingerprint: str,
    full_refresh: bool = False,
) -> BuildPlan:
    """Compare the loaded files with those the last build covered and decide what to rebuild."""
    covered = con.execute(
        "select uri, sha256 from meta.ingested_files where status = 'loaded' order by uri"
    ).fetchall()
    last = first_row(
        con,
        "select version_id, fingerprint, coverage_end, first_week from meta.dataset_versions "
        "order by built_at desc limit 1",
    )
    kinds = dict(
        con.execute(
            "select table_schema || '.' || table_name, table_type from information_schema.tables"
        ).fetchall()
    )
    # a model missing, or of the other kind (its first line changed), makes a full build
    missing = [
        m.name
        for m in models
        if kinds.get(m.name) != ("VIEW" if m.materialized == "view" else "BASE TABLE")
    ]
    if full_refresh or last is None or missing or last[1] != fingerprint:
        reason = (
            "full refresh asked for"
            if full_refresh
            else "first build"
            if last is None
            else f"tables missing: {', '.join(missing)}"
            if missing
            else "models or configuration changed since the last build"
        )
        return BuildPlan("full", reason, fingerprint, covered)
    before = set(
        con.execute(
            "select uri, sha256 from meta.dataset_version_files where version_id = ?", [last[0]]
        ).fetchall()
    )
    changed = set(covered) ^ before
    if not changed:
        return BuildPlan(
            "up_to_date", "no file loaded or replaced since the last build", fingerprint, covered
        )
    spans = con.execute(
        "select uri, sha256, first_date, last_date from meta.ingested_files "
        "where first_date is not null"
    ).fetchall()
    dated = [(start, end) for uri, digest, start, end in spans if (uri, digest) in changed]
    first = min((start for start, _ in dated), default=None)
    last_day = max((end for _, end in dated), default=None)
    if first is None:
        return BuildPlan("up_to_date", "changed files hold no dated rows", fingerprint, covered)
    if last[3] is not None and first < last[3] + timedelta(weeks=1):
        # History delivered late, or the first weeks corrected: where the data starts moves,
        # and with it every week from there to the old start and the lags reading them.
        reason = f"rows dated {first} changed, in or before the first week built ({last[3]})"
        return BuildPlan("full", reason, fingerprint, covered)
    # Weeks that were incomplete at the last build's edge may be complete now.
    first = min(first, last[2]) if last[2] else first
    window = affected_window(first, last_day, settings)
    reason = f"{len(changed)} file version(s) added or replaced, rows dated {first} to {last_day}"
    return BuildPlan("incremental", reason, fingerprint, covered, window)


def build_model(
    con: duckdb.DuckDBPyConnection, model: SqlModel, settings: Settings, window: Window | None
) -> ModelRun:
    """Materialise one model: a view, a whole table, or the window of an incremental table.

    With a window, a view is kept as it is: the plan found it in place with the same SQL."""
    started = time.perf_counter()
    if model.materialized == "view" and window is not None:
        # an incremental build: the plan found the view in place, with this very SQL
        return ModelRun(model.name, "view", "unchanged", None, time.perf_counter() - started)
    con.execute(f"create schema if not exists {model.layer}")
    if model.materialized == "view":
        _create_or_replace(con, model, f"view {model.name} as {render(model, settings)}")
        return ModelRun(model.name, "view", "view", None, time.perf_counter() - started)
    if model.materialized == "incremental" and window is not None:
        con.begin()
        try:
            con.execute(
                f"delete from {model.name} where {model.key} between ? and ?",
                [window.start, window.end],
            )
            # A model rendered for a window returns rows inside it: those are the window now.
            insert = f"insert into {model.name} by name {render(model, settings, window)}"
            rows = first_row(con, insert)[0]
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return ModelRun(
            model.name, model.materialized, "incremental", rows, time.perf_counter() - started
        )
    query = render(model, settings)
    if model.materialized == "incremental":
        # Stored in key order, a window's rows share a few row groups: the deletes, scans and
        # checkpoints of later incremental builds skip the rest by their min/max statistics.
        query = f"select * from ({query}) order by {model.key}"
    rows = _create_or_replace(con, model, f"table {model.name} as {query}")
    return ModelRun(model.name, model.materialized, "full", rows, time.perf_counter() - started)


def _create_or_replace(con: duckdb.DuckDBPyConnection, model: SqlModel, what: str) -> int | None:
    """`create or replace <what>`; the rows written, for a table.

    DuckDB replaces a view only by a view and a table only by a table. A model whose first line
    switched it from one to the other (which `plan_build` answers with a full build) finds the
    old kind in its way: it is dropped when DuckDB refuses, so no build asks the catalog first.
    """
    try:
        written = first_row(con, f"create or replace {what}")
    except duckdb.CatalogException as exc:
        if "trying to replace with type" not in str(exc):
            raise
        con.execute(f"drop {'table' if model.materialized == 'view' else 'view'} {model.name}")
        written = first_row(con, f"create or replace {what}")
    return written[0] if written else None  # DuckDB answers a table's creation with its rows
