"""Data tests beside the models (sql/tests/): generic ones from schema.yml, singular .sql files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from tasks.models import SQL_DIR, Model
from warehouse.connection import first_row

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class DataTest:
    """A query returning the rows that break an expectation, and the model it guards."""

    name: str
    model: str
    sql: str


@dataclass(frozen=True)
class DataTestResult:
    """How a data test went: failing row count and a few of the rows, as JSON."""

    name: str
    model: str
    passed: bool
    failing_rows: int
    sample: str


def _generic(model: str, kind: str, spec: object) -> list[DataTest]:
    if kind == "unique":
        cols = ", ".join(spec)
        sql = f"select {cols}, count(*) as copies from {model} group by all having count(*) > 1"
        return [DataTest(f"unique({cols})", model, sql)]
    if kind == "not_null":
        return [
            DataTest(f"not_null({c})", model, f"select * from {model} where {c} is null")
            for c in spec
        ]
    if kind == "accepted_range":
        tests = []
        for column, bounds in spec.items():
            broken = [f"{column} < {bounds['min']}"] if "min" in bounds else []
            broken += [f"{column} > {bounds['max']}"] if "max" in bounds else []
            where = " or ".join(broken)
            name = f"accepted_range({column}, {bounds.get('min')}, {bounds.get('max')})"
            tests.append(DataTest(name, model, f"select * from {model} where {where}"))
        return tests
    if kind == "week_continuity":
        sql = (
            f"select week, next_week from (select {spec} as week, "
            f"lead({spec}) over (order by {spec}) as next_week from {model}) "
            "where next_week <> week + interval 7 day"
        )
        return [DataTest(f"week_continuity({spec})", model, sql)]
    raise ValueError(f"sql/tests/schema.yml: unknown test '{kind}' on {model}")


def discover_tests(models: list[Model], tests_dir: Path = SQL_DIR / "tests") -> list[DataTest]:
    """Every data test, each attached to the model after which it runs."""
    names = [m.name for m in models]
    tests: list[DataTest] = []
    schema = tests_dir / "schema.yml"
    if schema.exists():
        config = yaml.safe_load(schema.read_text(encoding="utf-8")) or {}
        for model, kinds in (config.get("models") or {}).items():
            if model not in names:
                raise ValueError(f"{schema}: tests for {model}, which is not a model in sql/")
            for kind, spec in kinds.items():
                tests.extend(_generic(model, kind, spec))
    for path in sorted(tests_dir.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        read = duckdb.get_table_names(sql, qualified=True)
        guarded = [n for n in names if n in read]
        if not guarded:
            raise ValueError(f"{path}: reads no model of sql/, so it cannot be placed in the build")
        tests.append(DataTest(path.stem, guarded[-1], sql))  # after the last model it reads
    return tests


def run_test(con: duckdb.DuckDBPyConnection, test: DataTest) -> DataTestResult:
    """Run one test: it passes when its query returns no rows."""
    failing = first_row(con, f"select count(*) from ({test.sql})")[0]
    sample = "[]"
    if failing:
        rows = con.sql(f"select * from ({test.sql}) limit {SAMPLE_ROWS}")
        sample = json.dumps(
            [dict(zip(rows.columns, r, strict=True)) for r in rows.fetchall()], default=str
        )
    return DataTestResult(test.name, test.model, failing == 0, failing, sample)
