"""What one process learns of the SQL project is reused by the next, and never goes stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jinja2.bccache import bc_magic

from tasks.marts.project_cache import cache_dir, remembered_reads

# A fresh process (as every flow run is) discovers the models of a copy of sql/ (its macros
# too) and renders them, counting what it had to compile with Jinja and parse with DuckDB.
DISCOVER = """
import json, sys
from pathlib import Path
import jinja2
import tasks.marts.project
from hhcast.config import load_settings
from tasks.marts.project import discover, render

tasks.marts.project.SQL_DIR = Path(sys.argv[1])

counts = {"compiled": 0, "parsed": 0}
compile_, parse = jinja2.Environment.compile, tasks.marts.project._parse_tables_read
def compiling(*args, **kwargs):
    counts["compiled"] += 1
    return compile_(*args, **kwargs)
def parsing(*args, **kwargs):
    counts["parsed"] += 1
    return parse(*args, **kwargs)
jinja2.Environment.compile, tasks.marts.project._parse_tables_read = compiling, parsing
settings = load_settings()
models = discover(settings, sql_dir=Path(sys.argv[1]))
print(json.dumps({
    **counts,
    "depends_on": {m.name: list(m.depends_on) for m in models},
    "sql": {m.name: render(m, settings) for m in models},
}))
"""


def discover_in_a_new_process(sql_dir: Path, cache_home: Path) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run(
        [sys.executable, "-c", DISCOVER, str(sql_dir)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_next_process_neither_compiles_nor_parses_the_same_models(env, sql_dir, tmp_path):
    cache_home = tmp_path / "cache"
    first = discover_in_a_new_process(sql_dir, cache_home)
    second = discover_in_a_new_process(sql_dir, cache_home)
    assert first["compiled"] >= 5 and first["parsed"] >= 5
    assert (second["compiled"], second["parsed"]) == (0, 0)
    assert second["depends_on"] == first["depends_on"]
    assert second["sql"] == first["sql"]


def test_an_edited_model_is_compiled_and_parsed_again_not_taken_from_the_cache(
    env, sql_dir, tmp_path
):
    cache_home = tmp_path / "cache"
    before = discover_in_a_new_process(sql_dir, cache_home)
    assert before["depends_on"]["marts.data_quality_weekly"] == ["marts.features_weekly_aircraft"]
    model = sql_dir / "marts" / "data_quality_weekly.sql"
    model.write_text(
        "-- now reads the weekly table too\n"
        "select f.week_start, f.hh, {{ filters.aircraft_type | sql }} as fleet\n"
        "from marts.features_weekly f join marts.features_weekly_aircraft a using (week_start)\n"
    )
    after = discover_in_a_new_process(sql_dir, cache_home)
    assert (after["compiled"], after["parsed"]) == (1, 1)
    assert after["depends_on"]["marts.data_quality_weekly"] == [
        "marts.features_weekly",
        "marts.features_weekly_aircraft",
    ]
    assert "'B737NG' as fleet" in after["sql"]["marts.data_quality_weekly"]
    assert (
        after["depends_on"]["marts.features_weekly"]
        == before["depends_on"]["marts.features_weekly"]
    )


def test_reads_are_parsed_once_per_text(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls = []

    def parse(sql):
        calls.append(sql)
        return ["raw.b", "raw.a"]

    assert remembered_reads("select 1", parse) == {"raw.a", "raw.b"}
    assert remembered_reads("select 1", parse) == {"raw.a", "raw.b"}
    assert remembered_reads("select 2", parse) == {"raw.a", "raw.b"}
    assert calls == ["select 1", "select 2"]


def test_a_damaged_cache_file_is_parsed_again_not_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    remembered_reads("select 1", lambda sql: ["raw.a"])
    (cached,) = (tmp_path / "hhcast").glob("*/tables-read.json")
    cached.write_text('{"truncated')
    assert remembered_reads("select 1", lambda sql: ["raw.c"]) == {"raw.c"}
    assert remembered_reads("select 1", lambda sql: ["raw.never"]) == {"raw.c"}


def test_an_unwritable_cache_costs_a_parse_never_the_build(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    calls = []
    for _ in range(2):
        assert remembered_reads("select 1", lambda sql: calls.append(sql) or ["raw.a"]) == {"raw.a"}
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == [blocked]


def test_models_render_through_an_unwritable_cache(env, sql_dir, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    first = discover_in_a_new_process(sql_dir, blocked)
    again = discover_in_a_new_process(sql_dir, blocked)
    assert first["compiled"] >= 5 and again["compiled"] == first["compiled"]
    assert again["sql"] == first["sql"]


def test_an_edited_macro_reaches_every_model_importing_it_in_the_next_process(
    env, sql_dir, tmp_path
):
    cache_home = tmp_path / "cache"
    before = discover_in_a_new_process(sql_dir, cache_home)
    macro = sql_dir / "macros" / "count_once_across_files.sql"
    macro.write_text(
        macro.read_text().replace("copies_in_files as (", "copies_in_files as ( -- edited", 1)
    )
    after = discover_in_a_new_process(sql_dir, cache_home)
    assert after["compiled"] == 1  # the macro file; the models importing it are unchanged
    for name in ("staging.stg_aircraft_utilization", "staging.stg_unscheduled_events"):
        assert "-- edited" not in before["sql"][name]
        assert "-- edited" in after["sql"][name]
    assert after["depends_on"] == before["depends_on"]


def test_damaged_compiled_templates_are_compiled_again_not_an_error(env, sql_dir, tmp_path):
    cache_home = tmp_path / "cache"
    first = discover_in_a_new_process(sql_dir, cache_home)
    damaged = list((cache_home / "hhcast").glob("*/jinja/*"))
    assert len(damaged) == first["compiled"]
    for path in damaged:  # Jinja's header, then garbage where the checksum and code go
        path.write_bytes(bc_magic + b"not a pickled checksum")
    again = discover_in_a_new_process(sql_dir, cache_home)
    assert again["compiled"] == first["compiled"]
    assert again["sql"] == first["sql"]


def test_cached_reads_of_the_wrong_shape_are_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    remembered_reads("select 1", lambda sql: ["marts.x"])
    (cached,) = (tmp_path / "hhcast").glob("*/tables-read.json")
    entries = json.loads(cached.read_text())
    cached.write_text(json.dumps({key: "marts.x" for key in entries}))  # a string, not a list
    assert remembered_reads("select 1", lambda sql: ["marts.y"]) == {"marts.y"}


def test_another_code_version_s_cache_is_removed_not_read(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    stale = tmp_path / "hhcast" / "0123456789abcdef"
    stale.mkdir(parents=True)
    (stale / "tables-read.json").write_text(json.dumps({"anything": ["raw.stale"]}))
    (tmp_path / "hhcast" / "tables-read-duckdb-1.0.json").write_text("{}")  # an older layout
    assert remembered_reads("select 1", lambda sql: ["raw.a"]) == {"raw.a"}
    assert [p.name for p in (tmp_path / "hhcast").iterdir()] == [cache_dir().name]
    assert cache_dir().name != stale.name


def test_without_a_home_to_keep_it_in_there_is_no_cache_and_no_error(monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", no_home)
    assert cache_dir() is None
    calls = []
    for _ in range(2):
        remembered_reads("select 1", lambda sql: calls.append(sql) or ["raw.a"])
    assert len(calls) == 2
