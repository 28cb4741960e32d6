"""The step every flow that writes the warehouse ends with: publish its read replica."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from hhcast.config import Settings
from warehouse import replica
from warehouse.connection import connect, locked


@task(name="publish-replica", cache_policy=NO_CACHE)
def publish_replica(
    settings: Settings, published_by: str, *, lock_held: bool = False
) -> replica.Published | None:
    """Copy the warehouse, as the run left it, to the replica analysts read; log the cost.

    `lock_held`: the flow holds the writer lock and the file for its whole run (ingest,
    transform), so the task opens the file without queueing for the lock behind itself.
    """
    warehouse = settings.warehouse
    if lock_held:
        with connect(warehouse, timeout=warehouse.writer_lock_timeout_seconds) as con:
            published = replica.publish(con, warehouse, published_by=published_by)
    else:
        with locked(warehouse) as con:
            published = replica.publish(con, warehouse, published_by=published_by)
    if published is not None:
        get_run_logger().info(published.headline())
    return published
