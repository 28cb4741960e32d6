"""The monitor flow on two deliveries: forecasts made on the first are scored, once, when the
second brings their actuals; the rule opens an alert and emits the event; a healthy run
closes it."""

from __future__ import annotations

import time
from datetime import date

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

from flows.forecast import forecast
from flows.ingest import ingest
from flows.monitor import monitor
from flows.scratch import QUICK_CANDIDATES
from flows.train import train_models
from flows.transform import transform
from hhcast.config import load_settings
from hhcast.sample import generate
from tasks.monitor import DEGRADED_EVENT
from warehouse.connection import connect


def rows(settings, sql: str) -> list[tuple]:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def delivered(tmp_path_factory, prefect_harness):
    """Forecasts made on a delivery up to 2022-03-31, then the next months' actuals, in which
    the work per flight hour has jumped."""
    out = tmp_path_factory.mktemp("monitored")
    generate(out / "first", preset="small", seed=7, end=date(2022, 3, 31))
    # From April on, each flight hour causes 1.8 times the work: the champion has degraded.
    generate(
        out / "later", preset="small", seed=7, start=date(2022, 4, 1), end=date(2022, 5, 31),
        drift_from=date(2022, 4, 1), drift_factor=1.8,
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "HHCAST_LANDING": str(out / "first" / "landing"),
            "HHCAST_LAKE": str(out / "lake"),
            "HHCAST_WAREHOUSE": str(out / "warehouse" / "hhcast.duckdb"),
            "HHCAST_INGEST__WORKER_PROCESSES": "0",
            "HHCAST_TRAINING__CANDIDATES": QUICK_CANDIDATES,
        }.items():
            env.setenv(name, value)
        settings = load_settings()
        ingest(return_state=True).result()
        transform(return_state=True).result()
        assert train_models(return_state=True).is_completed()
        made = forecast(return_state=True).result()
        before = monitor(return_state=True).result()  # nothing to score yet
        ingest(source=str(out / "later" / "landing"), return_state=True).result()
        transform(return_state=True).result()
        yield settings, made, before, out


def test_forecasts_are_scored_once_a_sustained_breach_alerts_and_a_healthy_run_closes_it(
    delivered, monkeypatch
):
    settings, made, before, _ = delivered
    assert before.weeks_scored == 0 and before.alert == "none"
    for name in ("HHCAST_LANDING", "HHCAST_LAKE", "HHCAST_WAREHOUSE"):
        monkeypatch.setenv(name, str(getattr(settings, name.removeprefix("HHCAST_").lower())))
    monkeypatch.setenv("HHCAST_TRAINING__CANDIDATES", QUICK_CANDIDATES)
    started = time.time()

    # 1. The forecast weeks now complete are scored, each once, with the model's nowcast.
    first = monitor(return_state=True).result()
    forecast_weeks = set(made.weeks["week_start"].to_list())
    complete_sql = "select week_start from marts.features_weekly where is_complete"
    complete = {w for (w,) in rows(settings, complete_sql)}
    scored = rows(settings, "select week_start, hh_actual, hh_nowcast from ml.forecast_errors")
    assert {r[0] for r in scored} == forecast_weeks & complete  # exactly those weeks
    assert first.weeks_scored == len(scored) > 0
    actual = dict(rows(settings, "select week_start, hh from marts.features_weekly"))
    assert all(r[1] == actual[r[0]] and r[2] is not None for r in scored)
    windows = rows(settings, "select source, window_name, n_weeks from ml.metric_history")
    assert ("forecast", "horizon_1", 1) in windows and any(w[0] == "nowcast" for w in windows)
    drift = rows(settings, "select feature, window_name, status from ml.drift_history")
    assert {d[0] for d in drift} == set(settings.monitoring.drift.features)
    volumes = rows(settings, "select window_name, measure, n_weeks from ml.volume_checks")
    assert ("last_13_weeks", "aircraft_days", 13) in volumes
    assert ("last_13_weeks", "work_items", 13) in volumes
    assert {v[1] for v in volumes if v[0] == "planned"} == {"aircraft_days"}

    # 2. The work per flight hour jumped: the nowcast error breaches, the alert opens and the
    # event is emitted (sustained_runs: 1).
    assert first.verdict.breached and any(b.startswith("MAE ") for b in first.verdict.breaches)
    assert first.alert == "open"
    (alert,) = rows(settings, "select model_id, closed_at from ml.alerts")
    assert alert == (first.champion, None)
    with get_client(sync_client=True) as client:
        for _ in range(50):  # events reach the API asynchronously
            named = EventNameFilter(name=[DEGRADED_EVENT])
            filtered = EventFilter(event=named, occurred=EventOccurredFilter())
            page = client.read_events(filtered, limit=50)
            if page.events:
                break
            time.sleep(0.2)
    (event,) = [e for e in page.events if e.occurred.timestamp() >= started - 1]
    assert event.resource["hhcast.champion"] == first.champion
    assert event.resource["hhcast.retrain"] == "train-deployment"  # a monitor run of its own
    assert event.payload["breaches"] == first.verdict.breaches
    assert event.payload["recent_mae"] > event.payload["mae_limit"]
    with get_client(sync_client=True) as client:
        keys = ArtifactFilterKey(any_=["monitor-alert", "monitor-figures", "monitor-drift"])
        published = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=keys, flow_run_id=ArtifactFilterFlowRunId(
                any_=[first.run_id]
            ))
        )  # fmt: skip
    by_key = {a.key: a for a in published}
    assert by_key["monitor-alert"].description.startswith("**Degradation alert open**")
    assert "recent_mae" in by_key["monitor-figures"].data

    # 3. A run with nothing new to score judges the same weeks: the alert stays as it is.
    second = monitor(return_state=True).result()
    assert second.weeks_scored == 0  # nothing scored twice
    assert second.alert == "still open"
    assert len(rows(settings, "select * from ml.alerts")) == 1

    # 4. Under a rule this champion meets, the next run is healthy and closes the alert.
    monkeypatch.setenv("HHCAST_MONITORING__DEGRADATION__MAE_TOLERANCE", "100")
    monkeypatch.setenv("HHCAST_MONITORING__DEGRADATION__MIN_COVERAGE_80", "0")
    monkeypatch.setenv("HHCAST_MONITORING__DEGRADATION__MAX_BIAS_SE", "100")
    monkeypatch.setenv("HHCAST_MONITORING__DEGRADATION__DRIFT_ALERT_FEATURES", "99")
    healthy = monitor(return_state=True).result()
    assert healthy.alert == "close"
    (closed,) = rows(settings, "select closed_run, closed_reason from ml.alerts")
    assert closed == (healthy.run_id, "healthy again")


def test_a_monitor_run_checks_the_warehouse_schema_once(delivered, monkeypatch):
    import tasks.monitor
    import warehouse.connection

    settings, *_ = delivered
    for name in ("HHCAST_LANDING", "HHCAST_LAKE", "HHCAST_WAREHOUSE"):
        monkeypatch.setenv(name, str(getattr(settings, name.removeprefix("HHCAST_").lower())))
    checks = []
    ensure_schema = warehouse.connection.ensure_schema

    def counted(con):
        checks.append(con)
        ensure_schema(con)

    # both names: the monitor's own, and the one `locked()` calls for each task that takes it
    monkeypatch.setattr(warehouse.connection, "ensure_schema", counted)
    monkeypatch.setattr(tasks.monitor, "ensure_schema", counted)
    summary = monitor(return_state=True).result()
    assert summary.champion is not None and summary.verdict is not None  # it judged
    assert len(checks) == 1
