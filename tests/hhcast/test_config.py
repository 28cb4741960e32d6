"""Settings come from hhcast.yaml; any key can be overridden from the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hhcast.config import ConfigError, load_settings


def test_the_repository_config_holds_both_layouts_and_the_business_rules():
    settings = load_settings(env={})
    events = settings.sources["unscheduled_events"]
    assert set(events.layouts) == {"legacy", "layout_2021"}
    assert events.layouts["legacy"]["hh_executed"] == "HH Executado WO"
    assert settings.filters.aircraft_type == "B737NG"
    assert settings.filters.excluded_signs == ["PILOT", "CABIN"]


def test_top_level_and_nested_keys_are_overridden_from_the_environment():
    settings = load_settings(
        env={
            "HHCAST_LANDING": "s3://plant/landing",
            "HHCAST_WAREHOUSE": "/srv/hhcast/wh.duckdb",
            "HHCAST_FILTERS__AIRCRAFT_TYPE": "A320",
            "HHCAST_FILTERS__EXCLUDED_SIGNS": "[PILOT]",
            "HHCAST_INGEST__MAX_PARALLEL_FILES": "4",
            "UNRELATED": "x",
        }
    )
    assert settings.landing == "s3://plant/landing"
    assert settings.warehouse.path == Path("/srv/hhcast/wh.duckdb")
    assert settings.filters.aircraft_type == "A320"
    assert settings.filters.excluded_signs == ["PILOT"]
    assert settings.ingest.max_parallel_files == 4


def test_a_misspelt_variable_is_an_error_naming_it():
    with pytest.raises(ConfigError, match="HHCAST_FILTERS__AIRCRAFT_TYP") as error:
        load_settings(env={"HHCAST_FILTERS__AIRCRAFT_TYP": "A320"})
    assert "aircraft_typ" in str(error.value)


def test_an_invalid_value_names_the_file_and_the_key(tmp_path):
    config = tmp_path / "hhcast.yaml"
    text = Path("hhcast.yaml").read_text() if Path("hhcast.yaml").exists() else None
    assert text, "run the tests from the repository root"
    config.write_text(re.sub(r"max_parallel_files: \d+", "max_parallel_files: zero", text))
    with pytest.raises(ConfigError) as error:
        load_settings(config, env={})
    assert str(config) in str(error.value) and "ingest.max_parallel_files" in str(error.value)


def test_the_warehouse_section_holds_the_file_and_how_long_writers_wait(tmp_path):
    config = tmp_path / "hhcast.yaml"
    text = Path(load_settings(env={}).source_path).read_text()
    section = re.compile(r"^warehouse:\n(?:  .*\n)+", re.M)
    assert section.search(text)
    config.write_text(section.sub("warehouse: /srv/wh.duckdb\n", text))
    settings = load_settings(config, env={})
    assert settings.warehouse.path == Path("/srv/wh.duckdb")  # the short form still reads
    assert settings.warehouse.writer_lock_timeout_seconds == 900
    assert str(settings.warehouse) == "/srv/wh.duckdb"  # usable wherever a path is
    waits = load_settings(env={"HHCAST_WAREHOUSE__WRITER_LOCK_TIMEOUT_SECONDS": "5"})
    assert waits.warehouse.writer_lock_timeout_seconds == 5


def test_the_replica_sits_beside_the_warehouse_wherever_it_moves():
    moved = load_settings(env={"HHCAST_WAREHOUSE": "/srv/hhcast/wh.duckdb"}).warehouse
    assert moved.replica_path == Path("/srv/hhcast/hhcast_read.duckdb")
    elsewhere = load_settings(
        env={
            "HHCAST_WAREHOUSE": "/srv/hhcast/wh.duckdb",
            "HHCAST_WAREHOUSE__REPLICA": "/bi/r.duckdb",
        }
    ).warehouse
    assert elsewhere.replica_path == Path("/bi/r.duckdb")
    assert load_settings(env={"HHCAST_WAREHOUSE__REPLICA": ""}).warehouse.replica_path is None


def test_a_replica_naming_the_warehouse_itself_is_an_error():
    with pytest.raises(ConfigError, match=r"warehouse.*is the warehouse itself.*name another file"):
        load_settings(env={"HHCAST_WAREHOUSE__REPLICA": "hhcast.duckdb"})


def test_the_old_ingest_writer_lock_timeout_is_read_with_a_deprecation_message(tmp_path):
    config = tmp_path / "hhcast.yaml"
    text = Path(load_settings(env={}).source_path).read_text()
    old = text.replace("  writer_lock_timeout_seconds: 900\n", "").replace(
        "ingest:\n", "ingest:\n  writer_lock_timeout_seconds: 42\n", 1
    )
    config.write_text(old)
    with pytest.warns(FutureWarning, match="moved to warehouse.writer_lock_timeout_seconds"):
        settings = load_settings(config, env={})
    assert settings.warehouse.writer_lock_timeout_seconds == 42


def test_the_flight_plan_issue_date_pattern_needs_its_named_group():
    settings = load_settings(env={})
    assert settings.sources["flight_plan"].issued_at_pattern
    for pattern, problem in (
        (r"issued_(\d{4}-\d{2}-\d{2})", "named group"),
        (r"issued_(?P<issued_at>", "not a regular expression"),
    ):
        with pytest.raises(ConfigError, match=problem) as error:
            load_settings(env={"HHCAST_SOURCES__FLIGHT_PLAN__ISSUED_AT_PATTERN": pattern})
        assert "sources.flight_plan.issued_at_pattern" in str(error.value)


def test_sources_sharing_an_extension_must_be_read_alike():
    # a file's source is known only once its header is read, so both must read it the same way
    with pytest.raises(ConfigError, match="aircraft_utilization and flight_plan share") as error:
        load_settings(env={"HHCAST_SOURCES__FLIGHT_PLAN__DELIMITER": ";"})
    assert "delimiter" in str(error.value)
