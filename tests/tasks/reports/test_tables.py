"""Reading the report's tables: the weeks shown, every forecast for them, empty before builds."""

from __future__ import annotations

import polars as pl
from report_tables import crafted_tables, write_warehouse

from tasks.reports.tables import read_tables
from warehouse.connection import connect, ensure_schema


def test_the_last_weeks_are_read_with_their_forecasts_and_the_whole_history(tmp_path):
    tables = crafted_tables()
    with connect(tmp_path / "wh.duckdb") as con:
        write_warehouse(con, tables)
        read = read_tables(con, weeks=3)
    last_three = tables.actuals.tail(3)
    assert read.actuals.to_dicts() == last_three.to_dicts()
    first = last_three["week_start"].min()
    assert read.predictions["week_start"].min() == first
    assert (
        read.predictions.height == tables.predictions.filter(pl.col("week_start") >= first).height
    )
    assert read.metrics.height == tables.metrics.height
    assert read.drift.height == tables.drift.height
    assert read.alerts["alert_id"].to_list() == ["a1"]
    # each decision with the candidate and algorithm of the champion it left
    assert read.decisions.select("action", "candidate", "algorithm").rows() == [
        ("bootstrap", "naive", "naive"), ("keep", "naive", "naive"),
        ("promote", "ridge", "linear"), ("rollback", "naive", "naive"),
    ]  # fmt: skip


def test_incomplete_weeks_are_not_actuals(tmp_path):
    with connect(tmp_path / "wh.duckdb") as con:
        write_warehouse(con, crafted_tables(), complete_weeks=False)
        read = read_tables(con, weeks=52)
    assert read.actuals.is_empty()
    assert read.predictions.height == crafted_tables().predictions.height  # all of them


def test_a_warehouse_before_its_first_build_reads_as_empty_tables(tmp_path):
    with connect(tmp_path / "wh.duckdb") as con:
        ensure_schema(con)  # the ml tables exist, empty; marts.features_weekly does not
        read = read_tables(con, weeks=52)
    assert all(frame.is_empty() for frame in vars(read).values())
