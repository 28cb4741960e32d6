"""Data tests beside the models (sql/tests/): generic ones from schema.yml, singular .sql files."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from hhcast.config import Settings
from tasks.marts.project import SQL_DIR, SqlModel, Window, render_sql, sql_literal, tables_read

SAMPLE_ROWS = 5
THIS = "model_under_test"  # what `{{ this }}` names in a test's query


class DataTestError(RuntimeError):
    """A data test's query cannot run (as opposed to finding failing rows)."""


@dataclass(frozen=True)
class DataTest:
    """A query returning the rows that break an expectation, and the model it guards.

    The query is a template: `{{ this }}` is the model, or only its rows in the build's
    window when the build is incremental and the model has a key; singular tests see the
    same names as models (`is_incremental`, `window_start`, `window_end`, ...).
    """

    name: str
    model: str
    template: str
    key: str | None = None


@dataclass(frozen=True)
class DataTestResult:
    """How a data test went: failing row count and a few of the rows, as JSON."""

    name: str
    model: str
    passed: bool
    failing_rows: int
    sample: str


def _generic(name: str, kind: str, spec: object) -> list[DataTest]:
    # The relation under test by the name `{{ this }}` renders to: plain SQL needs no compiling
    # (~1 ms a template, in every new process).
    model = THIS
    if kind == "unique":
        cols = ", ".join(spec)
        sql = f"select {cols}, count(*) as copies from {model} group by all having count(*) > 1"
        return [DataTest(f"unique({cols})", name, sql)]
    if kind == "not_null":
        return [
            DataTest(f"not_null({c})", name, f"select * from {model} where {c} is null")
            for c in spec
        ]
    if kind == "accepted_range":
        tests = []
        for column, bounds in spec.items():
            broken = [f"{column} < {bounds['min']}"] if "min" in bounds else []
            broken += [f"{column} > {bounds['max']}"] if "max" in bounds else []
            where = " or ".join(broken)
            label = f"accepted_range({column}, {bounds.get('min')}, {bounds.get('max')})"
            tests.append(DataTest(label, name, f"select * from {model} where {where}"))
        return tests
    if kind == "week_continuity":
        sql = (
            f"select week, next_week from (select {spec} as week, "
            f"lead({spec}) over (order by {spec}) as next_week from {model}) "
            "where next_week <> week + interval 7 day"
        )
        return [DataTest(f"week_continuity({spec})", name, sql)]
    raise ValueError(f"sql/tests/schema.yml: unknown test '{kind}' on {name}")


def discover_tests(
    models: list[SqlModel], settings: Settings, tests_dir: Path = SQL_DIR / "tests"
) -> list[DataTest]:
    """Every data test, each attached to the model after which it runs."""
    names = [m.name for m in models]
    keys = {m.name: m.key for m in models}
    tests: list[DataTest] = []
    schema = tests_dir / "schema.yml"
    if schema.exists():
        config = _parse_yaml(schema.read_text(encoding="utf-8"))
        for model, kinds in (config.get("models") or {}).items():
            if model not in names:
                raise ValueError(f"{schema}: tests for {model}, which is not a model in sql/")
            for kind, spec in kinds.items():
                tests.extend(replace(t, key=keys[model]) for t in _generic(model, kind, spec))
    for path in sorted(tests_dir.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        read = tables_read(render_sql(sql, settings))  # as a full build renders it
        guarded = [n for n in names if n.lower() in read]
        if not guarded:
            raise ValueError(f"{path}: reads no model of sql/, so it cannot be placed in the build")
        # It runs after the last model it reads, and on that model's window when it has one.
        tests.append(DataTest(path.stem, guarded[-1], sql, keys[guarded[-1]]))
    return tests


@lru_cache(maxsize=8)
def _parse_yaml(text: str) -> dict:
    # libyaml's loader where installed: ~10x faster than the pure-Python one
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}


def run_tests(
    con: duckdb.DuckDBPyConnection,
    tests: list[DataTest],
    settings: Settings,
    window: Window | None = None,
) -> list[DataTestResult]:
    """Run data tests, each passing when it finds no rows; on a window's rows alone when it can.

    The tests of one model run as one query counting each test's failing rows, with the
    model (or its window, read once) as `{{ this }}`; a failing test runs again for samples.
    """
    results: dict[int, DataTestResult] = {}
    for model in dict.fromkeys(t.model for t in tests):
        mine = [(i, t) for i, t in enumerate(tests) if t.model == model]
        with_this = _with_this(mine[0][1], window)
        queries = [_query(t, settings, window) for _, t in mine]
        failing = _count_failing(con, with_this, [t for _, t in mine], queries)
        for (i, test), sql, count in zip(mine, queries, failing, strict=True):
            sample = "[]"
            if count:
                rows = con.sql(f"{with_this} select * from ({sql}) limit {SAMPLE_ROWS}")
                sample = json.dumps(
                    [dict(zip(rows.columns, r, strict=True)) for r in rows.fetchall()], default=str
                )
            results[i] = DataTestResult(test.name, test.model, count == 0, count, sample)
    return [results[i] for i in range(len(tests))]


def run_test(
    con: duckdb.DuckDBPyConnection,
    test: DataTest,
    settings: Settings,
    window: Window | None = None,
) -> DataTestResult:
    """Run one data test (see `run_tests`)."""
    return run_tests(con, [test], settings, window)[0]


def _with_this(test: DataTest, window: Window | None) -> str:
    if window is not None and test.key:
        # A window's rows are few: computed once (a view's dedup included) for every test.
        return (
            f"with {THIS} as materialized (select * from {test.model} where {test.key} "
            f"between {sql_literal(window.start)} and {sql_literal(window.end)})"
        )
    return f"with {THIS} as (select * from {test.model})"  # whole tables are not copied


def _query(test: DataTest, settings: Settings, window: Window | None) -> str:
    return render_sql(test.template, settings, window if test.key else None, this=THIS)


def _count_failing(
    con: duckdb.DuckDBPyConnection, with_this: str, tests: list[DataTest], queries: list[str]
) -> list[int]:
    counts = " union all ".join(
        f"select {i} as test, count(*) as failing from ({sql})" for i, sql in enumerate(queries)
    )
    try:
        return [n for _, n in sorted(con.execute(f"{with_this} {counts}").fetchall())]
    except duckdb.Error as exc:
        if len(tests) == 1:
            test = tests[0]
            raise DataTestError(f"data test {test.name} on {test.model} cannot run: {exc}") from exc
        for test, sql in zip(tests, queries, strict=True):  # alone, to name the one at fault
            _count_failing(con, with_this, [test], [sql])
        raise
