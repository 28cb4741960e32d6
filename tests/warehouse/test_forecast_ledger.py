"""ml.forecast_ledger: each forecast week with the champion that made it, who made it champion
and why, and how it did once its actuals came."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from warehouse import connection
from warehouse.connection import connect, ensure_schema

T0, T1, T2, T3 = (datetime.fromisoformat(f"2025-01-0{d} 06:00+00:00") for d in (1, 2, 3, 4))
W1, W2 = date(2025, 1, 6), date(2025, 1, 13)


def add_model(con, model_id: str, algorithm: str) -> None:
    con.execute(
        "insert into ml.models (model_id, run_id, candidate, algorithm, features, "
        "hyperparameters, seed, dataset_version, train_start, train_end, train_weeks, "
        "holdout_start, holdout_end, metrics, code_version, artifact_uri, artifact_sha256, "
        "created_at, status) values (?, 'r', ?, ?, '[]', '{}', 7, 'v1', '2020-01-06', "
        "'2024-06-24', 234, '2024-07-01', '2024-12-23', '{}', 'test', 'uri', 'sha', ?, "
        "'candidate')",
        [model_id, algorithm, algorithm, T0],
    )


def decide(con, at, action, to_model, decided_by, note) -> None:
    con.execute(
        "insert into ml.promotions (decision_id, decided_at, action, to_model, champion_after, "
        "policy, decided_by, note) values (?, ?, ?, ?, ?, 'auto', ?, ?)",
        [f"{action}-{to_model}", at, action, to_model, to_model, decided_by, note],
    )


def predict(con, forecast_id, model_id, week, made_at, plan_file="plan.csv") -> None:
    con.execute(
        "insert into ml.predictions (forecast_id, model_id, dataset_version, plan_file, "
        "week_start, horizon_weeks, hh_pred, hh_lower_80, hh_upper_80, made_at) "
        "values (?, ?, 'v1', ?, ?, 1, 1000, 900, 1100, ?)",
        [forecast_id, model_id, plan_file, week, made_at],
    )


@pytest.fixture
def ledger(tmp_path):
    with connect(tmp_path / "hhcast.duckdb") as con:
        ensure_schema(con)
        add_model(con, "naive-1", "naive")
        add_model(con, "ridge-2", "linear")
        decide(con, T0, "bootstrap", "naive-1", "policy", "first champion")
        decide(con, T2, "promote", "ridge-2", "ana", "approved: better MAE")
        predict(con, "f1", "naive-1", W1, T1)
        predict(con, "f1", "naive-1", W2, T1)
        predict(con, "f2", "ridge-2", W2, T3)
        predict(con, "w1", "ridge-2", W2, T3, plan_file="what-if")
        con.execute(
            "insert into ml.forecast_errors (forecast_id, week_start, model_id, plan_file, "
            "horizon_weeks, hh_actual, hh_pred, error, abs_error, in_80, monitor_run_id, "
            "scored_at) values ('f1', ?, 'naive-1', 'plan.csv', 1, 1150, 1000, -150, 150, "
            "false, 'm1', ?)",
            [W1, T3],
        )
        for feature, window, status in [
            ("acft", "last_13_weeks", "warn"),
            ("cycles", "last_13_weeks", "ok"),
            ("cycles", "planned", "alert"),  # the planned weeks' drift is not the week's
        ]:
            con.execute(
                "insert into ml.drift_history (monitor_run_id, run_at, model_id, feature, "
                "window_name, n_reference, n_current, status) "
                "values ('m1', ?, 'naive-1', ?, ?, 200, 13, ?)",
                [T3, feature, window, status],
            )
        yield con.sql(
            "select forecast_id, week_start, model_id, promoted_by, promotion_note, "
            "became_champion_by, champion_since, hh_actual, error, in_80, drift_status, "
            "drifted_features from ml.forecast_ledger order by forecast_id, week_start"
        ).fetchall()


def test_each_forecast_week_names_the_champion_that_made_it_and_who_crowned_it(ledger):
    assert [row[:5] for row in ledger] == [
        ("f1", W1, "naive-1", "policy", "first champion"),
        ("f1", W2, "naive-1", "policy", "first champion"),
        ("f2", W2, "ridge-2", "ana", "approved: better MAE"),
    ]  # the what-if forecast is not in the ledger
    assert [row[5:7] for row in ledger] == [("bootstrap", T0)] * 2 + [("promote", T2)]


def test_a_scored_week_carries_its_actual_error_and_the_drift_that_run_measured(ledger):
    scored, unscored, _ = ledger
    assert scored[7:] == (1150.0, -150.0, False, "warn", "acft warn")
    assert unscored[7:] == (None, None, None, None, None)


def test_views_are_replaced_when_their_definition_changes(tmp_path, monkeypatch):
    with connect(tmp_path / "hhcast.duckdb") as con:
        ensure_schema(con)
        original = (connection.SCHEMA_DIR / connection.VIEWS_FILE).read_text()
        changed = tmp_path / "views.sql"
        changed.write_text(
            original.replace("select * from final;", "select *, 1 as marker from final;")
        )
        monkeypatch.setattr(connection, "SCHEMA_DIR", tmp_path)
        for name in connection.SCHEMA_FILES:  # the tables' files, as they are
            (tmp_path / name).write_text(
                (Path(connection.__file__).parent / "schema" / name).read_text()
            )
        ensure_schema(con)
        columns = [c[0] for c in con.execute("describe ml.forecast_ledger").fetchall()]
        assert columns[-1] == "marker"
