"""Retrain on new files: the upload-and-retrain job a user starts from the Prefect UI.

1. Land the given files (local paths or s3:// URIs) in the landing location.
2. Run the pipeline on them: ingest, rebuild the touched weeks, then train on the new
   dataset version and decide on the champion by the promotion policy.
"""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.states import Failed, State

from flows.pipeline import PipelineSummary, pipeline
from hhcast.config import load_settings
from tasks.ingest import land_file
from tasks.raw.landing import check_handed_over
from tasks.run_names import retrain_run_name
from tasks.states import keep, value_of


@flow(name="retrain", flow_run_name=retrain_run_name, log_prints=True)
def retrain(
    files: list[str],
    promotion: Literal["auto", "manual", "never"] | None = None,
) -> PipelineSummary | State:
    """Land `files`, ingest them, rebuild the features incrementally, train and decide.

    Args:
        files: The exports to land and train on, local paths or s3:// URIs, one per item.
        promotion: How the challenger may become champion: auto (the rule decides), manual
            (the run pauses for a reviewer), never (recorded only). null = promotion.policy
            from hhcast.yaml.
    """
    check_handed_over(files, load_settings())
    landed = [land_file(source) for source in files]
    get_run_logger().info("landed %d files: %s", len(landed), ", ".join(landed))
    run = pipeline(promotion=promotion, retrain=True, return_state=True)
    summary = value_of(run)
    if not run.is_completed():
        return keep(Failed(message=run.message, data=summary))
    return keep(summary)
