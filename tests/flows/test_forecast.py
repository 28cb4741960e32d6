"""The forecast flow: the champion prices every planned week once, with intervals, and a
what-if priced in the Prefect UI's form stays apart."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from prefect.client.orchestration import get_client

from flows.cli import main
from flows.forecast import forecast
from flows.scratch import QUICK_CANDIDATES
from flows.train import train_models
from tasks.what_if import WhatIfWeek
from warehouse.connection import connect


@pytest.fixture
def champion(trainable, monkeypatch):
    monkeypatch.delenv("HHCAST_TRAINING__CANDIDATES__MLP__PARAMS__EPOCHS")  # no MLP here
    monkeypatch.setenv("HHCAST_TRAINING__CANDIDATES", QUICK_CANDIDATES)
    state = train_models(return_state=True)
    assert state.is_completed(), state.message
    return state.result().champion


def predictions(settings, where: str = "true") -> list[tuple]:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(
            "select forecast_id, model_id, plan_file, week_start, horizon_weeks, hh_pred, "
            f"hh_lower_80, hh_upper_80, hh_lower_95, hh_upper_95 from ml.predictions "
            f"where {where} order by week_start"
        ).fetchall()


def plan_weeks(settings) -> list[tuple]:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(
            "select week_start, horizon_weeks from marts.features_weekly_plan "
            "where is_complete order by week_start"
        ).fetchall()


def test_the_champion_forecasts_every_planned_week_once(trainable, champion):
    state = forecast(return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    rows = predictions(trainable)
    planned = plan_weeks(trainable)
    assert planned, "the small sample's flight plans give planned weeks"
    assert [(r[3], r[4]) for r in rows] == planned  # every complete planned week, in order
    assert {r[1] for r in rows} == {champion.model_id}
    assert summary.added == len(rows) and summary.forecast_id == rows[0][0]
    for *_, pred, low80, up80, low95, up95 in rows:
        assert 0 <= low95 <= low80 <= pred <= up80 <= up95
    assert all("flight_plan_issued_" in r[2] for r in rows)
    # a new champion's forecasts stand on its backtest's errors: none of its own are scored yet
    assert set(summary.weeks["interval_source"]) == {"backtest"}
    assert summary.headline().endswith("intervals from its backtest")

    again = forecast(return_state=True).result()
    assert again.added == 0 and again.forecast_id == summary.forecast_id
    assert predictions(trainable) == rows  # the same champion and plans add nothing


def test_a_what_if_is_priced_and_kept_out_of_the_planned_forecasts(trainable, champion):
    week = WhatIfWeek(
        week_start=date(2022, 8, 1), acft=140, sum_daily_hours=1400.0, cycles=700,
        age_fleet=3.1e6, sum_uti_mensal=6000.0, n_aircraft=20, hh_lag_52=300.0,
        hh_rolling_4=310.0,
    )  # fmt: skip
    state = forecast(what_if=[week], return_state=True)
    summary = state.result()
    with get_client(sync_client=True) as client:  # the run list tells it from a real forecast
        assert client.read_flow_run(state.state_details.flow_run_id).name == "forecast-what-if"
    (row,) = predictions(trainable, "plan_file = 'what-if'")
    assert row[3] == date(2022, 8, 1) and row[4] is None
    assert summary.weeks["hh_pred"].to_list() == [row[5]]
    assert row[6] <= row[5] <= row[7]
    assert not predictions(trainable, "plan_file <> 'what-if'")  # nothing else was forecast


def test_the_cli_prints_the_forecast_table(trainable, champion, capsys):
    assert main(["forecast"]) == 0
    out = capsys.readouterr().out
    assert "by " + champion.model_id in out
    assert "80 %" in out and "95 %" in out
    assert "flight_plan_issued_" in out


def test_a_what_if_plan_file_is_priced_by_the_plan_marts_sql_and_leaves_no_trace(
    trainable, champion, tmp_path
):
    with connect(trainable.warehouse, read_only=True) as con:
        (newest,) = con.execute(
            "select source_file from raw.flight_plan order by plan_issued_at desc limit 1"
        ).fetchone()
        raw_rows = con.execute("select count(*) from raw.flight_plan").fetchone()
    # The newest issue with every flight's hours doubled: what if the fleet flew twice as much?
    plan = pl.read_csv(newest.removeprefix("file://"), infer_schema=False, encoding="utf8-lossy")
    clock = pl.col("Hours").str.extract_groups(r"^(\d+):(\d\d)$")
    minutes = (clock.struct["1"].cast(int) * 60 + clock.struct["2"].cast(int)) * 2
    doubled = plan.with_columns(
        Hours=pl.when(minutes.is_not_null())
        .then(pl.format("{}:{}", minutes // 60, (minutes % 60).cast(str).str.zfill(2)))
        .otherwise(pl.col("Hours"))
    )
    doubled.write_csv(tmp_path / "more_flying.csv")
    planned = forecast(return_state=True).result()
    summary = forecast(what_if_plan=str(tmp_path / "more_flying.csv"), return_state=True).result()
    what_if = predictions(trainable, "plan_file = 'what-if'")
    assert [(r[3], r[4]) for r in what_if] == plan_weeks(trainable)  # the same weeks, priced
    assert all(
        w[5] > p[5]
        for w, p in zip(what_if, predictions(trainable, "plan_file <> 'what-if'"), strict=True)
    )
    assert summary.weeks["plan_file"].unique().to_list() == ["what-if"]
    assert planned.forecast_id != summary.forecast_id
    with connect(trainable.warehouse, read_only=True) as con:  # nothing of it stays in raw
        assert con.execute("select count(*) from raw.flight_plan").fetchone() == raw_rows
