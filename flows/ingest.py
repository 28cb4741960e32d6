"""Ingest: bring every new raw export in landing into the warehouse's raw tables.

1. List the files in landing (a folder or an S3 prefix).
2. Take the warehouse's writer lock, so a concurrent run waits instead of failing.
3. Skip the files listed with the size and change marker (S3 ETag, file mtime) they had
   when recorded. For each other file (a few files to a task, a few tasks at a time): fetch
   it; if its content is new, archive an unchanged copy in the lake, then read, type and
   check its rows against the contract (in worker processes: that part is CPU-bound).
4. Record the files in batches of about `ingest.batch_rows` rows, one transaction each:
   accepted rows to raw.*, failed checks to meta.quarantine, the file to
   meta.ingested_files. A file's rows are all in, or none.
5. Publish the read replica analysts query (a copy of the warehouse as committed).
6. Publish a summary table; end Failed if any file was rejected (the others still load).
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.states import Failed, State

from hhcast.config import load_settings
from tasks.ingest import (
    IngestSummary,
    ingest_all,
    landing_root,
    list_landing_files,
    prepare_warehouse,
    publish_ingest_summary,
)
from tasks.replica import publish_replica
from tasks.run_names import ingest_run_name
from tasks.states import keep
from warehouse.connection import writing


@flow(name="ingest", flow_run_name=ingest_run_name, log_prints=True)
def ingest(source: str | None = None) -> IngestSummary | State:
    """Load new raw exports from landing (or `source`) into raw.*.

    Args:
        source: Folder or s3:// URI to ingest instead of landing. null = `landing` from
            hhcast.yaml (or HHCAST_LANDING).
    """
    logger = get_run_logger()
    settings = load_settings().with_overrides(landing=source)
    landed = list_landing_files(settings)
    timeout = settings.warehouse.writer_lock_timeout_seconds
    with writing(settings.warehouse, timeout=timeout):
        known = prepare_warehouse(settings)
        summary = IngestSummary(ingest_all(landed, settings, known), landing_root(settings))
        publish_replica(settings, "ingest", lock_held=True)
    publish_ingest_summary(summary)
    logger.info(summary.headline())
    if summary.rejected:
        # Failed, so schedules and automations notice; the summary still travels with it.
        return keep(Failed(message=summary.headline(), data=summary))
    return keep(summary)
