"""Notify: tell people a run needs them, from the automations prefect.yaml declares.

The notify deployment's triggers start it when a training run pauses for its review, when any
hhcast run fails or crashes, and on `hhcast.forecast.degraded`; each run publishes one notice
(a markdown artifact with a link to the run, and a warning in its log).
"""

from __future__ import annotations

from prefect import flow

from tasks.notify import Notice, publish_notice
from tasks.run_names import notify_run_name


@flow(name="notify", flow_run_name=notify_run_name, log_prints=True)
def notify(event: str, resource_id: str, resource_name: str | None = None) -> Notice:
    """Publish a notice of `event` on a run or the warehouse.

    Args:
        event: The Prefect event that started this run, e.g. prefect.flow-run.Paused or
            hhcast.forecast.degraded.
        resource_id: The event's resource: prefect.flow-run.<id> for a run (the notice links
            to it), hhcast.warehouse.<file> for a degraded champion.
        resource_name: The run's name, or the degraded champion's model_id. null = the
            notice names the resource_id.
    """
    return publish_notice(event, resource_id, resource_name)
