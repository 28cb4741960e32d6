"""Models are found on disk and ordered by the tables they read; config reaches the SQL."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.marts.project import ModelError, discover, render, sql_literal


def test_models_come_in_dependency_order(settings):
    models = discover(settings)
    order = [m.name for m in models]
    for model in models:
        for upstream in model.depends_on:
            assert order.index(upstream) < order.index(model.name)
    daily = next(m for m in models if m.name == "intermediate.int_aircraft_daily")
    assert daily.depends_on == (
        "staging.stg_aircraft_utilization",
        "staging.stg_unscheduled_events",
    )
    assert (daily.materialized, daily.key) == ("incremental", "day")
    assert next(m for m in models if m.layer == "staging").materialized == "view"


def test_a_new_sql_file_is_picked_up_and_ordered_without_touching_python(settings, sql_dir):
    # Named to sort first, reading a mart: only the parser can put it in the right place.
    (sql_dir / "marts" / "a_monthly_hh.sql").write_text(
        "with weekly as (select * from marts.features_weekly)\n"
        "select date_trunc('month', week_start) as month, sum(hh) as hh from weekly group by 1\n"
    )
    order = [m.name for m in discover(settings, sql_dir)]
    assert order.index("marts.a_monthly_hh") > order.index("marts.features_weekly")


def test_a_model_read_under_an_alias_is_still_a_dependency(settings, sql_dir):
    (sql_dir / "marts" / "a_fleet_share.sql").write_text(
        "select w.week_start, a.registration, a.hh / nullif(w.hh, 0) as share\n"
        "from marts.features_weekly_aircraft as a\n"
        "join marts.features_weekly w on w.week_start = a.week_start\n"
    )
    model = next(m for m in discover(settings, sql_dir) if m.name == "marts.a_fleet_share")
    assert model.depends_on == ("marts.features_weekly", "marts.features_weekly_aircraft")


def test_a_cycle_between_models_is_an_error(settings, sql_dir):
    (sql_dir / "marts" / "loop_a.sql").write_text("select * from marts.loop_b")
    (sql_dir / "marts" / "loop_b.sql").write_text("select * from marts.loop_a")
    with pytest.raises(ModelError, match="cycle"):
        discover(settings, sql_dir)


def test_an_incremental_model_without_a_key_names_its_file(settings, sql_dir):
    bad = sql_dir / "marts" / "bad.sql"
    bad.write_text("-- hhcast: materialized=incremental\nselect 1 as x")
    with pytest.raises(ModelError, match=str(bad)):
        discover(settings, sql_dir)


def test_business_rules_reach_the_sql_from_the_config(env, monkeypatch):
    from hhcast.config import load_settings

    monkeypatch.setenv("HHCAST_FILTERS__EXCLUDED_SIGNS", "[PILOT, CABIN, O'NEIL]")
    monkeypatch.setenv("HHCAST_FILTERS__AIRCRAFT_TYPE", "A320")
    settings = load_settings()
    staging = next(m for m in discover(settings) if m.name == "staging.stg_unscheduled_events")
    sql = render(staging, settings)
    assert "upper('A320')" in sql
    assert "('PILOT', 'CABIN', 'O''NEIL')" in sql


@pytest.mark.parametrize(
    ("value", "literal"),
    [("it's", "'it''s'"), (date(2024, 1, 1), "date '2024-01-01'"), (["a", 1], "('a', 1)"),
     ([], "(null)"), (True, "true"), (None, "null"), (2.5, "2.5")],
)  # fmt: skip
def test_sql_literals(value, literal):
    assert sql_literal(value) == literal


def test_a_model_joining_using_columns_is_parsed_without_the_warehouse(settings, sql_dir):
    # Binding such a join needs the tables' columns; discovery reads the parse tree alone.
    (sql_dir / "marts" / "a_weekly_share.sql").write_text(
        "select week_start, a.registration, a.hh / nullif(w.hh, 0) as share\n"
        "from marts.features_weekly w join marts.features_weekly_aircraft a using (week_start)\n"
        "where week_start in (select week_start from intermediate.int_aircraft_daily)\n"
        "  and exists (select 1 from marts.data_quality_weekly\n"
        "              natural join marts.features_weekly)\n"
    )
    model = next(m for m in discover(settings, sql_dir) if m.name == "marts.a_weekly_share")
    assert model.depends_on == (
        "intermediate.int_aircraft_daily",
        "marts.data_quality_weekly",
        "marts.features_weekly",
        "marts.features_weekly_aircraft",
    )


def test_a_model_duckdb_cannot_parse_names_its_file(settings, sql_dir):
    bad = sql_dir / "marts" / "broken.sql"
    bad.write_text("select week_start from marts.features_weekly where")
    with pytest.raises(ModelError, match=f"{bad}: DuckDB cannot parse it"):
        discover(settings, sql_dir)


def test_a_model_naming_another_in_other_letter_case_still_depends_on_it(settings, sql_dir):
    (sql_dir / "marts" / "a_loud_copy.sql").write_text("select * from MARTS.Features_Weekly\n")
    model = next(m for m in discover(settings, sql_dir) if m.name == "marts.a_loud_copy")
    assert model.depends_on == ("marts.features_weekly",)
