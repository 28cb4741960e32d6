"""Monitor: keep the forecast honest once the actuals arrive.

1. Score every earlier forecast week whose actuals are now complete (ml.forecast_errors),
   with the forecasting model's nowcast on the week's actual utilisation beside it, so a bad
   week can be blamed on the plan or on the model.
2. Record the champion's accuracy over the last 4, 13 and 26 scored weeks and per horizon,
   for its forecasts and its nowcasts (ml.metric_history).
3. Measure feature drift: the latest complete weeks and the planned weeks against the
   champion's training weeks, with calibrated thresholds (ml.drift_history); and check their
   volume, aircraft-days and work items per week, against the training weeks' range
   (ml.volume_checks).
4. Apply the degradation rule (monitoring.degradation in hhcast.yaml): a breach sustained
   over consecutive runs opens an alert in ml.alerts and emits `hhcast.forecast.degraded`,
   on which the `train` deployment retrains and `notify` tells people; the next healthy run
   closes the alert.
5. Publish the read replica analysts query (a copy of the warehouse as committed).

Like ingest and transform, the run holds the warehouse from its first read to the replica: the
writer lock and the file open, so a concurrent run waits its turn and the steps' connections
cost no open, no schema check and no checkpoint each.
"""

from __future__ import annotations

import uuid

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from hhcast.config import load_settings
from tasks.monitor import (
    MonitorSummary,
    champion_to_monitor,
    check_volumes,
    judge,
    measure_drift,
    monitoring_windows,
    publish_monitoring,
    record_metrics,
    score_forecasts,
)
from tasks.replica import publish_replica
from tasks.run_names import monitor_run_name
from tasks.states import keep
from warehouse.connection import writing


@flow(name="monitor", flow_run_name=monitor_run_name, log_prints=True)
def monitor(pipeline_retrains: bool = False) -> MonitorSummary:
    """Score the forecasts whose weeks are complete, record accuracy and drift, judge.

    Args:
        pipeline_retrains: True when the pipeline runs it: the pipeline retrains in the same
            run, so the degradation event tells the `train` deployment's trigger to let it
            be. Leave it false for a monitor run of its own.
    """
    settings = load_settings()
    run_id = str(flow_run.get_id() or uuid.uuid4())
    timeout = settings.warehouse.writer_lock_timeout_seconds
    # Held open, the tasks' own connections to the warehouse cost no open and no checkpoint.
    with writing(settings.warehouse, timeout=timeout):
        champion = champion_to_monitor(settings)
        summary = MonitorSummary(run_id, champion.model_id if champion else None)
        if champion is not None:
            summary.weeks_scored = score_forecasts(settings, run_id)
            figures = record_metrics(settings, run_id, champion)
            windows = monitoring_windows(settings, champion)
            drift = measure_drift(settings, run_id, champion, windows)
            volumes = check_volumes(settings, run_id, champion, windows)
            retrained_by = "pipeline" if pipeline_retrains else "train-deployment"
            summary = judge(settings, summary, champion, figures, drift, retrained_by)
            summary.drift, summary.volumes = drift, volumes
        publish_replica(settings, "monitor", lock_held=True)
    if champion is not None:
        publish_monitoring(summary, summary.drift)
    get_run_logger().info(summary.headline())
    return keep(summary)
