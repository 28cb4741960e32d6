"""Which forecast weeks monitoring scores: complete ones, once, and never a what-if."""

from __future__ import annotations

from datetime import date

from tasks.monitoring.errors import unscored
from warehouse.connection import connect, ensure_schema

W1, W2 = date(2025, 1, 6), date(2025, 1, 13)


def test_only_complete_weeks_of_real_forecasts_are_scored_and_only_once(tmp_path):
    with connect(tmp_path / "hhcast.duckdb") as con:
        ensure_schema(con)
        con.execute("create schema marts")
        con.execute(
            "create table marts.features_weekly as select * from (values "
            f"(date '{W1}', 1200.0, true), (date '{W2}', 1300.0, false)) "
            "t(week_start, hh, is_complete)"
        )
        for forecast_id, plan_file, week in [
            ("f1", "flight_plan_issued_2025-01-06.csv", W1),
            ("f1", "flight_plan_issued_2025-01-06.csv", W2),  # not complete yet
            ("w1", "what-if", W1),  # typed in the UI: never scored
        ]:
            con.execute(
                "insert into ml.predictions (forecast_id, model_id, dataset_version, plan_file, "
                "week_start, horizon_weeks, hh_pred, hh_lower_80, hh_upper_80, made_at) "
                "values (?, 'ridge-1', 'v1', ?, ?, 1, 1100, 1000, 1250, now())",
                [forecast_id, plan_file, week],
            )
        due = unscored(con)
        assert due.select("forecast_id", "week_start").rows() == [("f1", W1)]
        assert due["error"].to_list() == [-100.0] and due["in_80"].to_list() == [True]
        con.execute(
            "insert into ml.forecast_errors (forecast_id, week_start, model_id, plan_file, "
            "hh_actual, hh_pred, error, abs_error, monitor_run_id, scored_at) "
            f"values ('f1', '{W1}', 'ridge-1', 'p', 1200, 1100, -100, 100, 'm1', now())"
        )
        assert unscored(con).is_empty()  # scored once
