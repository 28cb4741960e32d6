"""Data tests beside the models (sql/tests/): generic ones from schema.yml, singular .sql files."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import jinja2
import yaml

from hhcast.config import Settings
from tasks.models import SQL_DIR, Model, Window, render_sql, sql_literal
from warehouse.connection import first_row

SAMPLE_ROWS = 5


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
    model = "{{ this }}"  # the relation under test, filled in by run_test
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
    raise ValueError(f"sql/tests/schema.yml: unknown test '{kind}' on {model}")


def discover_tests(models: list[Model], tests_dir: Path = SQL_DIR / "tests") -> list[DataTest]:
    """Every data test, each attached to the model after which it runs."""
    names = [m.name for m in models]
    keys = {m.name: m.key for m in models}
    tests: list[DataTest] = []
    schema = tests_dir / "schema.yml"
    if schema.exists():
        config = yaml.safe_load(schema.read_text(encoding="utf-8")) or {}
        for model, kinds in (config.get("models") or {}).items():
            if model not in names:
                raise ValueError(f"{schema}: tests for {model}, which is not a model in sql/")
            for kind, spec in kinds.items():
                tests.extend(replace(t, key=keys[model]) for t in _generic(model, kind, spec))
    for path in sorted(tests_dir.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        read = duckdb.get_table_names(
            jinja2.Template(sql).render(is_incremental=False), qualified=True
        )
        guarded = [n for n in names if n in read]
        if not guarded:
            raise ValueError(f"{path}: reads no model of sql/, so it cannot be placed in the build")
        # It runs after the last model it reads, and on that model's window when it has one.
        tests.append(DataTest(path.stem, guarded[-1], sql, keys[guarded[-1]]))
    return tests


def run_test(
    con: duckdb.DuckDBPyConnection,
    test: DataTest,
    settings: Settings,
    window: Window | None = None,
) -> DataTestResult:
    """Run one test (on the window's rows alone when it can): it passes when it finds no rows."""
    this = test.model
    if window is not None and test.key:
        this = (
            f"(select * from {test.model} where {test.key} "
            f"between {sql_literal(window.start)} and {sql_literal(window.end)})"
        )
    sql = render_sql(test.template, settings, window if test.key else None, this=this)
    failing = first_row(con, f"select count(*) from ({sql})")[0]
    sample = "[]"
    if failing:
        rows = con.sql(f"select * from ({sql}) limit {SAMPLE_ROWS}")
        sample = json.dumps(
            [dict(zip(rows.columns, r, strict=True)) for r in rows.fetchall()], default=str
        )
    return DataTestResult(test.name, test.model, failing == 0, failing, sample)
