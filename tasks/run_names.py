"""Flow run names that say what a run did, for the Prefect UI's run list.

Each `<flow>_run_name` is given to its flow's `flow_run_name`: Prefect calls it with no
arguments inside the run, so it reads the run's parameters from `prefect.runtime`. The naming
itself is a pure function of the parameters, testable without Prefect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from hhcast.config import load_settings

MAX_PART = 32  # a name part longer than this is cut: the run list shows ~50 characters


def _part(text: str) -> str:
    """A short, safe piece of a run name: letters, digits, dot, underscore and dash."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")
    return cleaned[:MAX_PART] or "none"


def _last_component(location: str) -> str:
    """The folder or file a path or s3:// URI ends with (`s3://b/exports/` -> `exports`)."""
    parts = [p for p in re.split(r"[/\\]", location) if p and not p.endswith(":")]
    return parts[-1] if parts else location


def train_name(parameters: Mapping[str, Any], configured_policy: str) -> str:
    """`train-<dataset version or latest>-<promotion policy>`."""
    version = parameters.get("dataset_version") or "latest"
    policy = parameters.get("promotion") or configured_policy
    return f"train-{_part(str(version))}-{_part(str(policy))}"


def ingest_name(parameters: Mapping[str, Any]) -> str:
    """`ingest-landing`, or `ingest-<the folder or file source points at>`."""
    source = parameters.get("source")
    return f"ingest-{_part(_last_component(source))}" if source else "ingest-landing"


def transform_name(parameters: Mapping[str, Any]) -> str:
    """`transform-full` or `transform-incremental`, as asked (the plan may rename it)."""
    return "transform-full" if parameters.get("full_refresh") else "transform-incremental"


def planned_transform_name(mode: str) -> str:
    """`transform-full`, `transform-incremental` or `transform-up-to-date`, as planned."""
    return f"transform-{mode.replace('_', '-')}"


def forecast_name(parameters: Mapping[str, Any]) -> str:
    """`forecast`, or `forecast-what-if` when weeks or a plan of your own are priced."""
    what_if = parameters.get("what_if") or parameters.get("what_if_plan")
    return "forecast-what-if" if what_if else "forecast"


def retrain_name(parameters: Mapping[str, Any]) -> str:
    """`retrain-<n>-files`."""
    files = parameters.get("files") or []
    return f"retrain-{len(files)}-file{'' if len(files) == 1 else 's'}"


def dated_name(flow_name: str, when: datetime | None) -> str:
    """`<flow>-<YYYY-MM-DD>` of the run's scheduled start (UTC), today outside a run."""
    day = (when or datetime.now(UTC)).astimezone(UTC)
    return f"{flow_name}-{day:%Y-%m-%d}"


def _parameters() -> dict[str, Any]:
    return dict(flow_run.parameters or {})


def _configured_policy() -> str:
    try:
        return load_settings().promotion.policy
    except Exception:  # a broken hhcast.yaml fails the run itself, with its own message
        return "config"


def train_run_name() -> str:
    return train_name(_parameters(), _configured_policy())


def ingest_run_name() -> str:
    return ingest_name(_parameters())


def transform_run_name() -> str:
    return transform_name(_parameters())


def forecast_run_name() -> str:
    return forecast_name(_parameters())


def retrain_run_name() -> str:
    return retrain_name(_parameters())


def pipeline_run_name() -> str:
    return dated_name("pipeline", flow_run.scheduled_start_time)


def monitor_run_name() -> str:
    return dated_name("monitor", flow_run.scheduled_start_time)


def report_run_name() -> str:
    return dated_name("report", flow_run.scheduled_start_time)


def notify_name(parameters: Mapping[str, Any]) -> str:
    """`notify-<what happened>`, e.g. `notify-paused`, `notify-degraded`."""
    event = str(parameters.get("event") or "event")
    return f"notify-{_part(event.rsplit('.', 1)[-1].lower())}"


def notify_run_name() -> str:
    return notify_name(_parameters())


def rename_run(name: str) -> None:
    """Rename the current flow run once it knows what it does (no-op outside a run).

    A transform without full_refresh may still rebuild everything (the first build, changed
    SQL) or nothing: the plan says which, and the name follows it.
    """
    run_id = flow_run.get_id()
    if run_id is None:
        return
    with get_client(sync_client=True) as client:
        client.set_flow_run_name(run_id, _part(name))
