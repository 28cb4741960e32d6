"""Transform: rebuild the weekly features from the raw tables with the SQL models in sql/.

1. Find the models in sql/ and order them by the tables each one reads.
2. Plan: a full build the first time (or when models or config changed), else only the weeks
   the newly loaded or replaced files touch, plus the weeks whose lags and monthly totals
   read them; nothing at all when no file changed.
3. Build each model after the models it reads, then run its data tests; a failing test stops
   every model downstream of it, like `dbt build`.
4. Record the dataset version: a hash of the marts, the files covered, a snapshot in the lake.
5. Publish the read replica analysts query (a copy of the warehouse as committed).
"""

from __future__ import annotations

import uuid

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Failed, State

from hhcast.config import Settings, load_settings
from tasks.marts.build import BuildPlan
from tasks.marts.data_tests import DataTest
from tasks.marts.project import SqlModel
from tasks.replica import publish_replica
from tasks.run_names import planned_transform_name, rename_run, transform_run_name
from tasks.states import keep
from tasks.transform import (
    BuildSummary,
    DataTestsFailed,
    build,
    discover_project,
    plan,
    publish,
    record_skipped,
    test,
    version,
)
from warehouse.connection import writing


def build_graph(
    models: list[SqlModel],
    tests: list[DataTest],
    decided: BuildPlan,
    settings: Settings,
    build_id: str,
) -> BuildSummary:
    """Build the models in order, each waiting on what it reads; stop below a failure."""
    summary = BuildSummary(decided)
    finished: dict[str, PrefectFuture] = {}
    blocked: set[str] = set()
    for model in models:
        mine = [t for t in tests if t.model == model.name]
        if blocked.intersection(model.depends_on):
            blocked.add(model.name)
            summary.skipped.append(model.name)
            record_skipped(settings, build_id, mine)
            continue
        window = decided.window_for(model)
        upstream = [finished[d] for d in model.depends_on]
        built = build.submit(model, settings, window, wait_for=upstream)
        tested = test.submit(model.name, mine, settings, build_id, decided.window, wait_for=[built])
        finished[model.name] = tested
        run, results = built.result(raise_on_failure=False), tested.result(raise_on_failure=False)
        if isinstance(run, BaseException):
            summary.failed.append(f"{model.name}: {run}")
            blocked.add(model.name)
            continue
        summary.runs.append(run)
        if isinstance(results, DataTestsFailed):
            summary.failed.append(str(results))
            blocked.add(model.name)
            results = results.results
        summary.tests.extend(results)
    return summary


@flow(name="transform", flow_run_name=transform_run_name, log_prints=True)
def transform(full_refresh: bool = False) -> BuildSummary | State:
    """Rebuild marts.features_weekly and its siblings from raw.* (incrementally when it can).

    Args:
        full_refresh: Rebuild every week of every model from raw.*, not only the weeks the
            newly loaded or replaced files touch.
    """
    logger = get_run_logger()
    settings = load_settings()
    models, tests, digest = discover_project(settings)
    build_id = flow_run.get_id() or uuid.uuid4().hex
    timeout = settings.warehouse.writer_lock_timeout_seconds
    # Held open, the tasks' own connections to the warehouse cost no open and no checkpoint.
    with writing(settings.warehouse, timeout=timeout):
        decided = plan(settings, models, digest, full_refresh)
        rename_run(planned_transform_name(decided.mode))
        if decided.mode == "up_to_date":
            summary = BuildSummary(decided)
        else:
            summary = build_graph(models, tests, decided, settings, build_id)
            if summary.ok:
                summary.version = version(settings, decided)
        publish_replica(settings, "transform", lock_held=True)
    publish(summary)
    logger.info(summary.headline())
    if not summary.ok:
        return keep(Failed(message=summary.headline(), data=summary))
    return keep(summary)
