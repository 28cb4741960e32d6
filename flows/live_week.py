"""What one delivery's pipeline run did, in one line: from the Prefect server and the replica.

The run's state comes from the server; the rest (forecast, monitor verdict, alert, training,
champion) from the warehouse's read replica, which every writing flow publishes as it ends,
so reading it never waits for a flow nor makes one wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hhcast.config import load_settings
from warehouse.connection import connect

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class LiveDemoError(RuntimeError):
    """The live demo cannot go on as asked; the message says what to do."""


@dataclass
class WeekReader:
    """Finds each delivery's pipeline run, waits for it, and says what it did."""

    ui_url: str
    seen: set[UUID] = field(default_factory=set)

    def wait_for_run(self, deployment: str, emitted_at: datetime, appears_within: float):
        """The deployment's first run started after `emitted_at`, once it has ended.

        A run paused for a review is waited for, its page named once.
        """
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            deployment_id = client.read_deployment_by_name(deployment).id
            deadline = time.monotonic() + appears_within
            run = self._new_run(client, deployment_id, emitted_at)
            while run is None:
                if time.monotonic() > deadline:
                    raise LiveDemoError(
                        f"no {deployment} run started within {appears_within:.0f} s of the "
                        "delivery's event: is its trigger deployed (prefect.yaml, the UI's "
                        "Automations page)?"
                    )
                time.sleep(0.5)
                run = self._new_run(client, deployment_id, emitted_at)
            self.seen.add(run.id)
            told = False
            while run.state is None or run.state.type.value not in FINAL:
                if run.state is not None and run.state.type.value == "PAUSED" and not told:
                    print(
                        f"  review     {self.ui_url}/runs/flow-run/{run.id} waits for you: "
                        "Resume, tick approve or not, give your name",
                        flush=True,
                    )
                    told = True
                time.sleep(1)
                run = client.read_flow_run(run.id)
            return run

    def _new_run(self, client, deployment_id: UUID, emitted_at: datetime):
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterId,
            FlowRunFilter,
            FlowRunFilterExpectedStartTime,
        )
        from prefect.client.schemas.sorting import FlowRunSort

        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                # started by the event: due at once, unlike the schedule's runs, due at 05:00
                expected_start_time=FlowRunFilterExpectedStartTime(
                    after_=emitted_at - timedelta(seconds=2),
                    before_=datetime.now(UTC) + timedelta(seconds=60),
                )
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        )
        return next((run for run in runs if run.id not in self.seen), None)

    def week_line(self, label: str, run) -> str:
        """One line: the run's state and time, then what the warehouse says it did."""
        seconds = run.total_run_time.total_seconds() if run.total_run_time else 0.0
        head = f"{label:<10} pipeline {run.state.name.lower()} in {seconds:.0f} s"
        if run.state.type.value != "COMPLETED" and run.state.message:
            head += f" ({run.state.message[:160]})"  # the UI's run page has the rest
        if run.start_time is None:
            return head
        return " | ".join([head, *what_the_run_did(run.start_time)])


def what_the_run_did(since: datetime) -> list[str]:
    """The forecast, monitor verdict, alert, training and champion recorded since `since`."""
    warehouse = load_settings().warehouse
    source = warehouse.replica_path or warehouse.path
    if not source.exists():
        return ["nothing in the warehouse yet"]
    with connect(source, read_only=True) as con:

        def rows(sql: str) -> list[tuple]:
            return con.execute(sql, [since]).fetchall()

        forecast = rows(
            "select forecast_id, count(*), min(week_start), max(week_start) from ml.predictions "
            "where plan_file <> 'what-if' and made_at >= ? group by forecast_id "
            "order by max(made_at) desc limit 1"
        )
        monitored = rows(
            "select monitor_run_id, weeks_scored, breached from ml.monitor_runs "
            "where run_at >= ? order by run_at desc limit 1"
        )
        opened = rows("select model_id from ml.alerts where opened_at >= ?")
        closed = rows("select closed_reason from ml.alerts where closed_at >= ?")
        trained = rows("select count(*) from ml.models where created_at >= ?")[0][0]
        decided = rows(
            "select action, to_model, policy, decided_by from ml.promotions "
            "where decided_at >= ? order by decided_at"
        )
        champion = con.execute(
            "select champion_after from ml.promotions order by decided_at desc limit 1"
        ).fetchall()
    parts = []
    if forecast:
        forecast_id, weeks, first, last = forecast[0]
        parts.append(f"forecast {forecast_id[:8]}: {weeks} weeks {first}..{last}")
    if monitored:
        _, scored, breached = monitored[0]
        verdict = "breached" if breached else "ok"
        parts.append(f"monitor: {scored} weeks scored, {verdict}" if scored else "monitor: idle")
    parts += [f"ALERT opened on {model}" for (model,) in opened]
    parts += [f"alert closed ({reason})" for (reason,) in closed]
    if trained:
        parts.append(f"trained {trained} models")
    for action, model, policy, by in decided:
        parts.append(f"{action} {model} ({policy}, {by})")
    parts.append(f"champion {champion[0][0]}" if champion else "no champion yet")
    return parts
