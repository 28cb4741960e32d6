"""Crafted report tables (each case a chart must draw or leave out), and reading chart specs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from tasks.reports.tables import ReportTables

FIRST_WEEK = date(2022, 1, 3)
ACTUAL_WEEKS = 8  # 2022-01-03 .. 2022-02-21 complete
LAST_ACTUAL = FIRST_WEEK + timedelta(weeks=ACTUAL_WEEKS - 1)
KNOWN_WEEK = date(2022, 1, 24)  # a past week forecast 1 and 2 weeks ahead, and as a what-if
COMING_WEEK = LAST_ACTUAL + timedelta(weeks=1)
T0 = datetime(2022, 1, 10, 6, tzinfo=UTC)


def prediction(week: date, horizon: int | None, hh: float, made_at: datetime, **extra) -> dict:
    """One ml.predictions row with intervals hh ± 10 (80 %) and ± 20 (95 %)."""
    return {
        "forecast_id": f"f-{made_at:%m%d%H}", "run_id": "run", "model_id": "ridge-1",
        "dataset_version": "v1", "plan_file": "flight_plan_issued.csv", "plan_issued_at": None,
        "week_start": week, "horizon_weeks": horizon, "hh_pred": hh,
        "hh_lower_80": hh - 10, "hh_upper_80": hh + 10, "hh_lower_95": hh - 20,
        "hh_upper_95": hh + 20, "made_at": made_at,
    } | extra  # fmt: skip


def crafted_predictions() -> pl.DataFrame:
    """Each past week forecast 1 week ahead (hh 500 + week index) and 2 weeks ahead (300 +
    index, made a week earlier); KNOWN_WEEK also as a what-if (9,999); the coming week by an
    older forecast (700) and the newest (800)."""
    rows = []
    for k in range(ACTUAL_WEEKS):
        week = FIRST_WEEK + timedelta(weeks=k)
        made = T0 + timedelta(weeks=k - 1)
        rows.append(prediction(week, 1, 500.0 + k, made))
        rows.append(prediction(week, 2, 300.0 + k, made - timedelta(weeks=1)))
    rows.append(prediction(KNOWN_WEEK, None, 9999.0, T0 + timedelta(weeks=9), plan_file="what-if"))
    rows.append(prediction(COMING_WEEK, 1, 700.0, T0 + timedelta(weeks=7)))
    rows.append(prediction(COMING_WEEK, 2, 800.0, T0 + timedelta(weeks=7, hours=1)))
    return pl.DataFrame(rows)


def crafted_metrics() -> pl.DataFrame:
    """Three monitor runs, each with the three windows and a per-horizon row, both sources."""
    rows = []
    for run in range(3):
        for window in ("last_4_weeks", "last_13_weeks", "last_26_weeks", "horizon_1"):
            for source in ("forecast", "nowcast"):
                rows.append({
                    "monitor_run_id": f"m{run}", "run_at": T0 + timedelta(weeks=run),
                    "model_id": "ridge-1", "source": source, "window_name": window,
                    "n_weeks": 4, "mae": 40.0 + run, "rmse": 50.0, "wape": 0.1, "bias": 2.0,
                    "mase": 0.8, "coverage_80": 0.75 if source == "forecast" else None,
                    "coverage_95": 0.9 if source == "forecast" else None,
                    "width_80": 20.0, "width_95": 40.0,
                })  # fmt: skip
    return pl.DataFrame(rows)


def crafted_drift() -> pl.DataFrame:
    """Two runs of two features; `cycles` in the second run alerts (its psi 0.6 over 0.2)."""
    rows = []
    for run in range(2):
        for feature in ("acft", "cycles"):
            alerting = feature == "cycles" and run == 1
            rows.append({
                "monitor_run_id": f"m{run}", "run_at": T0 + timedelta(weeks=run),
                "model_id": "ridge-1", "feature": feature, "window_name": "last_13_weeks",
                "n_reference": 100, "n_current": 13, "psi": 0.6 if alerting else 0.05,
                "psi_alert": 0.2, "wasserstein": 0.1, "wasserstein_alert": 0.4, "ks": 0.1,
                "ks_alert": None, "status": "alert" if alerting else "ok",
            })  # fmt: skip
    return pl.DataFrame(rows)


def decision(action: str, champion: str, at: datetime, **extra) -> dict:
    return {
        "decision_id": f"d-{at:%m%d%H}", "decided_at": at, "run_id": "run", "action": action,
        "from_model": None, "to_model": champion, "champion_after": champion,
        "policy": "auto", "decided_by": "policy", "note": None, "metrics": None,
        "candidate": champion.split("-")[0], "algorithm": "linear",
    } | extra  # fmt: skip


def crafted_decisions() -> pl.DataFrame:
    """Naive bootstrapped, kept once, ridge promoted by alice, naive rolled back to."""
    return pl.DataFrame([
        decision("bootstrap", "naive-1", T0, policy="bootstrap", algorithm="naive"),
        decision("keep", "naive-1", T0 + timedelta(weeks=1), to_model="ridge-0",
                 algorithm="naive"),
        decision("promote", "ridge-1", T0 + timedelta(weeks=2), from_model="naive-1",
                 policy="manual", decided_by="alice"),
        decision("rollback", "naive-1", T0 + timedelta(weeks=4), from_model="ridge-1",
                 policy="rollback", decided_by="bob", algorithm="naive"),
    ])  # fmt: skip


def crafted_alerts() -> pl.DataFrame:
    return pl.DataFrame([{
        "alert_id": "a1", "model_id": "ridge-1", "opened_at": T0 + timedelta(weeks=3),
        "opened_run": "m3", "closed_at": None, "closed_run": None, "breaches": '["MAE"]',
        "figures": "{}",
    }])  # fmt: skip


def crafted_tables() -> ReportTables:
    actuals = pl.DataFrame(
        {
            "week_start": [FIRST_WEEK + timedelta(weeks=k) for k in range(ACTUAL_WEEKS)],
            "hh": [400.0 + 10 * k for k in range(ACTUAL_WEEKS)],
        }
    )
    return ReportTables(
        actuals, crafted_predictions(), crafted_metrics(), crafted_drift(), crafted_decisions(),
        crafted_alerts(),
    )  # fmt: skip


def empty_tables() -> ReportTables:
    """A warehouse before anything was built: every table empty."""
    return ReportTables(*(pl.DataFrame() for _ in range(6)))


def iso(day: date) -> str:
    """A date as altair writes it into a spec's data."""
    return f"{day.isoformat()}T00:00:00"


def all_layers(spec: dict, inherited: dict | None = None) -> list[dict]:
    """Every unit spec (one mark) of a chart, through layers, concatenations and facets, each
    given the data it draws where it inherits it (altair lifts shared data to the parent)."""
    data = spec.get("data") or inherited
    found = []
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for part in spec.get(key, []):
            found += all_layers(part, data)
    if "spec" in spec:
        found += all_layers(spec["spec"], data)
    if "mark" in spec:
        found.append({**spec, "data": data})
    return found


def rows_of(spec: dict, layer: dict) -> list[dict]:
    """The data rows a layer of all_layers() draws."""
    return spec["datasets"][layer["data"]["name"]]


def mark_type(layer: dict) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def series_layer(spec: dict, series: str) -> dict:
    """The forecast chart's layer drawn as `series` (its legend entry)."""
    (layer,) = [
        layer
        for layer in all_layers(spec)
        if {"calculate": f"'{series}'", "as": "series"} in layer.get("transform", [])
    ]
    return layer


def write_warehouse(con, tables: ReportTables, complete_weeks: bool = True) -> None:
    """The crafted tables in a warehouse: the ml tables by their DDL, a bare
    marts.features_weekly (the SQL project's own build is not needed here)."""
    from warehouse.connection import append, ensure_schema

    ensure_schema(con)
    con.execute("create schema if not exists marts")
    con.execute(
        "create table marts.features_weekly (week_start date, hh double, is_complete boolean)"
    )
    append(con, "marts.features_weekly", tables.actuals.with_columns(is_complete=complete_weeks))
    append(con, "ml.predictions", tables.predictions)
    append(con, "ml.metric_history", tables.metrics)
    append(con, "ml.drift_history", tables.drift)
    append(con, "ml.promotions", tables.decisions.drop("candidate", "algorithm"))
    append(con, "ml.alerts", tables.alerts)
    for model_id, algorithm in (("naive-1", "naive"), ("ridge-1", "linear")):
        con.execute(
            "insert into ml.models (model_id, run_id, candidate, algorithm, features, "
            "hyperparameters, seed, dataset_version, train_start, train_end, train_weeks, "
            "holdout_start, holdout_end, metrics, code_version, artifact_uri, artifact_sha256, "
            "created_at, status) values (?, 'run', ?, ?, '[]', '{}', 7, 'v1', '2020-01-06', "
            "'2021-06-28', 78, '2021-07-05', '2021-12-27', '{}', 'abc', 'uri', 'sha', "
            "'2022-01-10 06:00:00+00', 'candidate')",
            [model_id, model_id.split("-")[0], algorithm],
        )
