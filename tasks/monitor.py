"""The monitor flow's Prefect tasks: score forecasts, keep metric and drift history, judge.

The arithmetic is tasks/monitoring/; here it gets the warehouse, the lake and Prefect events.
The flow holds the warehouse's writer lock and the file open for its whole run (`writing()`),
so each task opens its own connection (tasks may run in other threads) without queueing for
the lock behind its own flow, and the schema is checked once, by `champion_to_monitor`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import polars as pl
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from hhcast.config import Settings
from tasks.forecast import complete_planned_weeks
from tasks.ml import artifacts, registry
from tasks.ml.registry import ModelRecord
from tasks.monitoring import errors
from tasks.monitoring.accuracy import ACCURACY_METRICS, accuracy, windows
from tasks.monitoring.alerts import Check, DegradationRule, check, next_step
from tasks.monitoring.drift import feature_drift
from tasks.monitoring.volume import volume_checks
from warehouse.connection import append, connect, ensure_schema, first_row

DEGRADED_EVENT = "hhcast.forecast.degraded"


@dataclass
class MonitorSummary:
    """What a monitor run found: the weeks it scored, the rule's verdict, any alert."""

    run_id: str
    champion: str | None
    weeks_scored: int = 0
    verdict: Check | None = None
    alert: str = "none"  # open | close | none
    drift: list[dict] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    volumes: list[dict] = field(default_factory=list)

    def headline(self) -> str:
        if self.champion is None:
            return "nothing to monitor: no champion yet"
        text = f"{self.weeks_scored} forecast weeks scored"
        if self.figures.get("recent_mae") is not None and np.isfinite(self.figures["recent_mae"]):
            f = self.figures
            text += f"; nowcast MAE {f['recent_mae']:,.1f} (limit {f['mae_limit']:,.1f})"
            if f.get("recent_bias") is not None and np.isfinite(f["recent_bias"]):
                text += f", bias {f['recent_bias']:+,.1f} (limit ±{f['bias_limit']:,.1f})"
        if self.verdict and self.verdict.breached:
            text += f"; breached: {'; '.join(self.verdict.breaches)}"
        outside = [v for v in self.volumes if v["status"] != "ok"]
        if outside:
            text += "; volume outside training range: " + ", ".join(
                f"{v['measure']} in {v['weeks_outside']} {v['window_name']} week(s)"
                for v in outside
            )
        return text + f"; alert: {self.alert}"


def _warehouse(settings: Settings):
    """A connection to the warehouse the flow holds (cheap: the file is open already)."""
    return connect(settings.warehouse, timeout=settings.warehouse.writer_lock_timeout_seconds)


def champion_to_monitor(settings: Settings) -> ModelRecord | None:
    """Put the schema in place (once per run) and read the champion now, if there is one."""
    with _warehouse(settings) as con:
        ensure_schema(con)
        return registry.champion(con)


@task(name="score-forecasts", cache_policy=NO_CACHE)
def score_forecasts(settings: Settings, run_id: str) -> int:
    """Score every forecast week whose actuals are complete now, with each model's nowcast."""
    with _warehouse(settings) as con:
        new = errors.unscored(con)
        if new.is_empty():
            return 0
        actual = errors.actual_weeks(con, new["week_start"].unique().to_list())
        models = {m: registry.get_model(con, m) for m in new["model_id"].unique().to_list()}
    nowcasts = [_nowcast(models[m], actual, settings) for m in models]
    scored = new.join(pl.concat(nowcasts), on=["model_id", "week_start"], how="left").with_columns(
        nowcast_error=pl.col("hh_nowcast") - pl.col("hh_actual"),
        monitor_run_id=pl.lit(run_id),
        scored_at=pl.lit(datetime.now(UTC)),
    )
    with _warehouse(settings) as con:
        append(con, "ml.forecast_errors", scored)
    return scored.height


def _nowcast(model: ModelRecord, actual: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The model on the weeks' actual utilisation (its forecasting artifact)."""
    uri, digest = model.forecast_artifact()
    forecaster = artifacts.fetch(uri, digest, model.algorithm, model.features, settings)
    return actual.select("week_start").with_columns(
        model_id=pl.lit(model.model_id),
        hh_nowcast=pl.Series(np.asarray(forecaster.predict(actual), dtype=float)),
    )


@task(name="record-metrics", cache_policy=NO_CACHE)
def record_metrics(settings: Settings, run_id: str, champion: ModelRecord) -> dict:
    """The champion's accuracy per window, forecasts and nowcasts, into ml.metric_history."""
    with _warehouse(settings) as con:
        weeks = errors.scored_weeks(con, champion.model_id)
    now = datetime.now(UTC)
    nowcast = (
        weeks.unique("week_start", keep="first")
        .with_columns(pl.col("hh_nowcast").alias("hh_pred"))
        .with_columns(pl.lit(None, pl.Float64).alias(c) for c in _BOUNDS)
    )
    rows = []
    for source, frame in (("forecast", weeks), ("nowcast", nowcast)):
        for name, window in windows(frame, settings.monitoring.windows):
            figures = accuracy(window)
            rows.append(
                {"monitor_run_id": run_id, "run_at": now, "model_id": champion.model_id,
                 "source": source, "window_name": name, "n_weeks": figures["n_weeks"],
                 **{m: _finite(figures[m]) for m in ACCURACY_METRICS}}
            )  # fmt: skip
    if rows:
        with _warehouse(settings) as con:
            append(con, "ml.metric_history", pl.DataFrame(rows))
    recent = (
        weeks.sort("week_start")
        .unique("week_start", keep="last")
        .tail(settings.monitoring.degradation.mae_window_weeks)
    )
    recent_forecasts = weeks.filter(pl.col("week_start").is_in(recent["week_start"].implode()))
    nowcast_mae = (
        float((recent["hh_nowcast"] - recent["hh_actual"]).abs().mean())
        if recent.height
        else float("nan")
    )
    newest = recent.tail(settings.monitoring.degradation.bias_window_weeks)
    bias = float((newest["hh_nowcast"] - newest["hh_actual"]).mean()) if newest.height else np.nan
    return {
        "recent_bias": bias,
        "bias_weeks": newest.height,
        "recent_mae": nowcast_mae,
        "coverage_80": accuracy(recent_forecasts)["coverage_80"] if recent.height else np.nan,
        "recent_weeks": recent.height,
    }


_BOUNDS = ("hh_lower_80", "hh_upper_80", "hh_lower_95", "hh_upper_95")


def _finite(value: float) -> float | None:
    return value if value is not None and np.isfinite(value) else None


def monitoring_windows(
    settings: Settings, champion: ModelRecord
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """The champion's training weeks (the reference) and the weeks compared with them: the
    latest complete weeks and the planned weeks; with each week's work items."""
    start = champion.production_train_start or champion.train_start
    end = champion.forecast_train_end
    with _warehouse(settings) as con:
        complete = con.sql(
            """
            select w.*, i.work_items
            from marts.features_weekly w
            left join (
                select week_start, sum(work_items)::bigint as work_items
                from marts.features_weekly_aircraft
                group by week_start
            ) i using (week_start)
            where w.is_complete
            order by w.week_start
            """
        ).pl()
        planned = complete_planned_weeks(con)
    reference = complete.filter(pl.col("week_start").is_between(start, end))
    current = {
        "last_13_weeks": complete.tail(settings.monitoring.drift.current_weeks),
        "planned": planned,
    }
    return reference, current


@task(name="measure-drift", cache_policy=NO_CACHE)
def measure_drift(
    settings: Settings, run_id: str, champion: ModelRecord,
    windows: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> list[dict]:  # fmt: skip
    """Each drift feature's latest complete weeks and planned weeks against the champion's
    training weeks, into ml.drift_history."""
    drift = settings.monitoring.drift
    reference, current = windows
    now, rows = datetime.now(UTC), []
    for feature in drift.features:
        for window_name, frame in current.items():
            if frame.is_empty() or feature not in frame.columns:
                continue
            found = feature_drift(
                feature, window_name, reference[feature].to_numpy(), frame[feature].to_numpy(),
                warn_sd=drift.warn_sd, alert_sd=drift.alert_sd, floors=drift.floors,
            )  # fmt: skip
            rows.append(
                {"monitor_run_id": run_id, "run_at": now, "model_id": champion.model_id,
                 "feature": feature, "window_name": window_name,
                 "n_reference": found.n_reference, "n_current": found.n_current,
                 **{name: _finite(found.values.get(name)) for name in ("psi", "wasserstein", "ks")},
                 **{f"{name}_alert": _finite(t.alert) for name, t in found.thresholds.items()},
                 "status": found.status}
            )  # fmt: skip
    if rows:
        with _warehouse(settings) as con:
            append(con, "ml.drift_history", pl.DataFrame(rows))
    return rows


@task(name="check-volumes", cache_policy=NO_CACHE)
def check_volumes(
    settings: Settings, run_id: str, champion: ModelRecord,
    windows: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> list[dict]:  # fmt: skip
    """Aircraft-days and work items of the latest and the planned weeks against the range of
    the champion's latest training weeks, widened by a margin, into ml.volume_checks."""
    reference, current = windows
    volume = settings.monitoring.volume
    rows = volume_checks(reference.tail(volume.reference_weeks), current, volume.margin)
    if rows:
        now = datetime.now(UTC)
        frame = pl.DataFrame(
            [
                {"monitor_run_id": run_id, "run_at": now, "model_id": champion.model_id, **r}
                for r in rows
            ]
        ).with_columns(
            outside_weeks=pl.col("outside_weeks").cast(pl.List(pl.String)).list.join(", ")
        )
        with _warehouse(settings) as con:
            append(con, "ml.volume_checks", frame)
    return rows


@task(name="judge-degradation", cache_policy=NO_CACHE)
def judge(
    settings: Settings, summary: MonitorSummary, champion: ModelRecord, figures: dict,
    drift: list[dict], retrained_by: str = "train-deployment",
) -> MonitorSummary:  # fmt: skip
    """Apply the degradation rule, record the run, open or close the alert, emit the event.

    The event's `hhcast.retrain` label says who retrains: "train-deployment" (the `train`
    deployment's trigger in prefect.yaml matches it) or "pipeline" (the run retrains itself).
    """
    rule = DegradationRule(
        **settings.monitoring.degradation.model_dump(
            exclude={"mae_window_weeks", "bias_window_weeks"}
        )
    )
    alerts = sum(
        1 for row in drift if row["window_name"] == "last_13_weeks" and row["status"] == "alert"
    )
    verdict = check(
        rule, recent_mae=figures["recent_mae"], backtest_mae=champion.metrics["backtest_mae_mean"],
        coverage_80=figures["coverage_80"], drift_alerts=alerts,
        recent_bias=figures["recent_bias"], bias_weeks=figures["bias_weeks"],
        backtest_rmse=champion.metrics.get("backtest_rmse_mean", np.nan),
    )  # fmt: skip
    summary.verdict, summary.figures = verdict, verdict.figures
    now = datetime.now(UTC)
    with _warehouse(settings) as con:
        con.begin()
        con.execute(
            "insert into ml.monitor_runs values (?, ?, ?, ?, ?, ?, ?)",
            [summary.run_id, now, champion.model_id, summary.weeks_scored, verdict.breached,
             json.dumps(verdict.breaches), json.dumps(_jsonable(verdict.figures))],
        )  # fmt: skip
        history = con.execute(
            "select breached, weeks_scored from ml.monitor_runs where champion = ? order by run_at",
            [champion.model_id],
        ).fetchall()
        # an alert on a champion since replaced ends with it: its successor is judged afresh
        con.execute(
            "update ml.alerts set closed_at = ?, closed_run = ?, closed_reason = ? "
            "where closed_at is null and model_id <> ?",
            [now, summary.run_id, f"replaced as champion by {champion.model_id}",
             champion.model_id],
        )  # fmt: skip
        open_alert = first_row(
            con, "select alert_id from ml.alerts where closed_at is null and model_id = ?",
            [champion.model_id],
        )  # fmt: skip
        step = next_step(
            [(bool(b), n) for b, n in history], open_alert is not None, rule.sustained_runs
        )
        if step == "open":
            con.execute(
                "insert into ml.alerts (alert_id, model_id, opened_at, opened_run, breaches, "
                "figures) values (?, ?, ?, ?, ?, ?)",
                [uuid.uuid4().hex, champion.model_id, now, summary.run_id,
                 json.dumps(verdict.breaches), json.dumps(_jsonable(verdict.figures))],
            )  # fmt: skip
        elif step == "close":
            con.execute(
                "update ml.alerts set closed_at = ?, closed_run = ?, closed_reason = ? "
                "where alert_id = ?",
                [now, summary.run_id, "healthy again", open_alert[0]],
            )
        con.commit()
    summary.alert = "still open" if step == "none" and open_alert else step
    if step == "open":
        emit_event(
            event=DEGRADED_EVENT,
            resource={
                "prefect.resource.id": f"hhcast.warehouse.{settings.warehouse.path.name}",
                "hhcast.champion": champion.model_id,
                "hhcast.retrain": retrained_by,
            },
            payload={"breaches": verdict.breaches, **_jsonable(verdict.figures)},
        )
    return summary


def _jsonable(figures: dict) -> dict:
    return {
        k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in figures.items()
    }


@task(name="publish-monitoring", cache_policy=NO_CACHE)
def publish_monitoring(summary: MonitorSummary, drift: list[dict]) -> None:
    """The run's figures and verdict, the alert, the drift table and the volume checks, as
    Prefect artifacts."""
    create_markdown_artifact(
        key="monitor-figures",
        markdown=_figures_markdown(summary),
        description=f"**Monitoring**: {summary.headline()}",
    )
    if summary.alert != "none":
        create_table_artifact(
            key="monitor-alert",
            table=[{"champion": summary.champion, "alert": summary.alert,
                    "breaches": "; ".join(summary.verdict.breaches) if summary.verdict else ""}],
            description=f"**Degradation alert {summary.alert}** on {summary.champion}",
        )  # fmt: skip
    if summary.volumes:
        columns = ("window_name", "measure", "current_min", "current_max", "reference_min",
                   "reference_max", "weeks_outside", "status")  # fmt: skip
        outside = sum(v["weeks_outside"] for v in summary.volumes)
        create_table_artifact(
            key="monitor-volumes",
            table=[{k: v[k] for k in columns} for v in summary.volumes],
            description=f"**Volume checks**: {outside} week-measure(s) outside the champion's "
            "training range (aircraft-days and work items per week)",
        )
    statuses = [row["status"] for row in drift]
    create_table_artifact(
        key="monitor-drift",
        table=[
            {k: row[k] for k in ("feature", "window_name", "psi", "wasserstein", "ks", "status")}
            for row in drift
        ]
        or [{"feature": "(nothing to measure)"}],
        description=f"**Drift**: {statuses.count('alert')} alert, {statuses.count('warn')} warn, "
        f"{statuses.count('ok')} ok (feature x window, against the champion's training weeks)",
    )


def _figures_markdown(summary: MonitorSummary) -> str:
    """The degradation rule's figures for this run, as a small table."""
    lines = [f"## Monitoring: {summary.champion or 'no champion'}", "", summary.headline(), ""]
    if summary.figures:
        lines += ["| figure | value |", "|---|---|"]
        lines += [
            f"| {name} | {value:,.3g} |" if isinstance(value, float) else f"| {name} | {value} |"
            for name, value in _jsonable(summary.figures).items()
            if value is not None
        ]
    return "\n".join(lines)
