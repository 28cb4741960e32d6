"""The SQL models in sql/: found on disk, rendered with the config, ordered by what they read.

A model is one file, `sql/<layer>/<name>.sql`, materialised as `<layer>.<name>`: staging as
views and the rest as tables, unless its first line says `-- hhcast: materialized=view|table`.
`-- hhcast: materialized=incremental key=<column>` makes a table incremental: rebuilt only
over a window of `<column>` values. A `key` on any model also lets an incremental build run
that model's data tests on the window alone. Dependencies come from DuckDB's own parser (the
tables each rendered query reads), not from a list. Macros shared by models live in
`sql/macros/`, imported with `{% from "<file>" import <macro> %}`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb
import jinja2

from hhcast.config import Settings
from tasks.marts.project_cache import bytecode_cache, remembered_reads

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
LAYERS = ("staging", "intermediate", "marts")
_CONFIG_LINE = re.compile(r"^--\s*hhcast:\s*(.*)$", re.MULTILINE)


class ModelError(ValueError):
    """A model file is invalid; the message names the file."""


@dataclass(frozen=True)
class Window:
    """The span an incremental build recomputes, in whole weeks; `lookback_start` adds history."""

    start: date
    end: date
    lookback_start: date


@dataclass(frozen=True)
class SqlModel:
    """One SQL model: its table name, template, materialisation and the models it reads."""

    name: str
    path: Path
    template: str
    materialized: str  # view | table | incremental
    key: str | None = None
    depends_on: tuple[str, ...] = field(default=())

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]


def sql_literal(value: object) -> str:
    """A Python value as a SQL literal (strings quoted, lists as tuples, dates typed)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(sql_literal(v) for v in value) + ")" if value else "(null)"
    if value is None:
        return "null"
    return "'" + str(value).replace("'", "''") + "'"


class _Templates(jinja2.BaseLoader):
    """Models and data tests by the hash of their text, and the macro files by name.

    Loaded through a loader rather than compiled from strings, so that Jinja keeps their
    compiled code in the bytecode cache for the next process.
    """

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.macros = jinja2.FileSystemLoader(SQL_DIR / "macros")  # `{% from "<file>" ... %}`

    def add(self, text: str) -> str:
        name = "text:" + hashlib.sha256(text.encode()).hexdigest()
        self.texts[name] = text
        return name

    def get_source(self, environment: jinja2.Environment, template: str):
        if template in self.texts:
            return self.texts[template], None, lambda: True
        return self.macros.get_source(environment, template)


@lru_cache(maxsize=2)
def _environment(week_starts_on: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_Templates(),
        bytecode_cache=bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["sql"] = sql_literal
    env.filters["upper_list"] = lambda values: [str(v).upper() for v in values]
    sunday = week_starts_on == "sunday"

    def week_start(column: str) -> str:
        if sunday:
            return f"({column} - cast(dayofweek({column}) as integer))::date"
        return f"date_trunc('week', {column})::date"

    env.globals["week_start"] = week_start
    return env


def render(model: SqlModel, settings: Settings, window: Window | None = None) -> str:
    """The model's SQL for a full build (no window) or an incremental one."""
    try:
        return render_sql(model.template, settings, window)
    except jinja2.TemplateError as exc:
        raise ModelError(f"{model.path}: {exc}") from exc


def render_sql(
    template: str, settings: Settings, window: Window | None = None, **extra: object
) -> str:
    """A SQL template rendered with the config, the build's window and any extra names."""
    if not any(mark in template for mark in ("{{", "{%", "{#")):
        return template  # no Jinja in it: already its own rendering, no compiling needed
    context = {
        "filters": settings.filters,
        "features": settings.features,
        "is_incremental": window is not None,
        "window_start": sql_literal(window.start) if window else None,
        "window_end": sql_literal(window.end) if window else None,
        "lookback_start": sql_literal(window.lookback_start) if window else None,
        **extra,
    }
    return _compiled(settings.features.week_starts_on, template).render(context)


@lru_cache(maxsize=256)
def _compiled(week_starts_on: str, template: str) -> jinja2.Template:
    # Compiling a template costs milliseconds, rendering one microseconds: compile each once,
    # and keep the compiled code for the next process (tasks/project_cache.py).
    env = _environment(week_starts_on)
    return env.get_template(env.loader.add(template))


@lru_cache(maxsize=256)
def tables_read(sql: str) -> frozenset[str]:
    """Every `schema.table` a query reads, from DuckDB's own parse tree (the same text always
    reads the same, so the answer is kept for the next process: tasks/project_cache.py).

    The tree is parsed, not bound: `duckdb.get_table_names` binds, and fails on a join
    `using (...)` or a natural join, whose columns only the warehouse knows.
    """
    return remembered_reads(sql, _parse_tables_read)


_PARSER = threading.Lock()  # DuckDB's default connection, used by one thread at a time


def _parse_tables_read(sql: str) -> set[str]:
    with _PARSER:
        (tree,) = duckdb.execute("select json_serialize_sql(?::varchar)", [sql]).fetchone()
    tree = json.loads(tree)
    if tree.get("error"):
        raise duckdb.ParserException(tree.get("error_message", "not a query"))
    tables, nodes = set(), [tree]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and node.get("schema_name"):
                # DuckDB's names are case-insensitive: `MARTS.Features_Weekly` is the model
                tables.add(f"{node['schema_name']}.{node['table_name']}".lower())
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return tables


def discover(settings: Settings, sql_dir: Path = SQL_DIR) -> list[SqlModel]:
    """Every model under sql/<layer>/, in an order where each comes after what it reads."""
    found: dict[str, SqlModel] = {}
    for layer in LAYERS:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            found[f"{layer}.{path.stem}"] = _model(f"{layer}.{path.stem}", path)
    models, by_lower = {}, {name.lower(): name for name in found}
    for name, model in found.items():
        # Render as a full build: both variants read the same tables.
        try:
            tables = tables_read(render(model, settings))
        except duckdb.Error as exc:
            raise ModelError(f"{model.path}: DuckDB cannot parse it: {exc}") from exc
        depends = tuple(sorted(by_lower[t] for t in tables if by_lower.get(t, name) != name))
        models[name] = SqlModel(**{**model.__dict__, "depends_on": depends})
    try:
        order = TopologicalSorter({n: m.depends_on for n, m in models.items()}).static_order()
        return [models[n] for n in order]
    except CycleError as exc:
        raise ModelError(f"models read each other in a cycle: {' -> '.join(exc.args[1])}") from exc


def _model(name: str, path: Path) -> SqlModel:
    template = path.read_text(encoding="utf-8")
    options = {}
    match = _CONFIG_LINE.search(template)
    if match:
        for pair in match.group(1).split():
            key, _, value = pair.partition("=")
            options[key] = value
    layer = name.split(".")[0]
    materialized = options.get("materialized", "view" if layer == "staging" else "table")
    if materialized not in {"view", "table", "incremental"}:
        raise ModelError(f"{path}: materialized={materialized} is not view, table or incremental")
    if materialized == "incremental" and not options.get("key"):
        raise ModelError(f"{path}: an incremental model needs key=<column> on its hhcast: line")
    return SqlModel(name, path, template, materialized, options.get("key"))


def fingerprint(models: list[SqlModel], settings: Settings) -> str:
    """A hash of every model as rendered: when it changes, incremental state is stale."""
    digest = hashlib.sha256()
    for model in sorted(models, key=lambda m: m.name):
        digest.update(f"{model.name}\n{model.materialized}\n{render(model, settings)}".encode())
    return digest.hexdigest()
