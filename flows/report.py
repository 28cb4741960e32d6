"""Report: the week's forecasts, errors, drift and champions as charts people look at.

1. Read the tables: the last year's actual weeks and the forecasts made for them and for the
   coming weeks (ml.predictions, what-if rows left out), the monitoring history
   (ml.metric_history, ml.drift_history, ml.alerts) and the champion's (ml.promotions).
2. Draw the charts: forecast vs actual with the 80 % and 95 % intervals, error history per
   window, drift per feature, champion history.
3. Write one self-contained HTML page to the lake (reports/<date>-<run id>.html, opening
   offline) and each chart as PNG beside it (reports/<date>-<run id>/).
4. Show the charts in the Prefect UI: the `forecast-report` markdown artifact, with where the
   page is.
"""

from __future__ import annotations

import uuid

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from hhcast.config import load_settings
from tasks.report import ReportSummary, publish_report
from tasks.run_names import report_run_name
from tasks.states import keep


@flow(name="report", flow_run_name=report_run_name, log_prints=True)
def report() -> ReportSummary:
    """Chart the forecasts against the actuals, the errors, the drift and the champions."""
    settings = load_settings()
    run_id = str(flow_run.get_id() or uuid.uuid4())
    summary = publish_report(settings, run_id)
    get_run_logger().info(summary.headline())
    return keep(summary)
