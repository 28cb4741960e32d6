"""The pipeline through the degraded path: the monitor opens an alert on the weeks a drift made
wrong, the same run retrains and promotes, the forecast comes from the new champion, and the
next run closes the old champion's alert. Each run's own page sums its steps up, linking their
runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
)
from prefect.settings import PREFECT_UI_URL

from flows.pipeline import PipelineSummary, pipeline
from flows.scratch import QUICK_CANDIDATES
from hhcast.config import load_settings
from hhcast.sample import generate
from tasks.forecast import ForecastSummary
from tasks.ingest import IngestSummary
from tasks.marts.build import BuildPlan
from tasks.raw.load import FileOutcome
from tasks.report import ReportSummary
from tasks.transform import BuildSummary
from warehouse.connection import connect

DRIFT_FROM = date(2022, 4, 1)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory, prefect_harness):
    """The pipeline on exports up to 2022-03-31, then on April and May, in which each flight
    hour causes 1.5 times the work."""
    out = tmp_path_factory.mktemp("pipeline")
    generate(out / "first", preset="small", seed=7, end=date(2022, 3, 31))
    generate(
        out / "later", preset="small", seed=7, start=DRIFT_FROM, end=date(2022, 5, 31),
        drift_from=DRIFT_FROM, drift_factor=1.5,
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "HHCAST_LAKE": str(out / "lake"),
            "HHCAST_WAREHOUSE": str(out / "warehouse" / "hhcast.duckdb"),
            "HHCAST_INGEST__WORKER_PROCESSES": "0",
            "HHCAST_TRAINING__CANDIDATES": QUICK_CANDIDATES,
        }.items():
            env.setenv(name, value)
        first = pipeline(source=str(out / "first" / "landing"), return_state=True).result()
        ran = pipeline(source=str(out / "later" / "landing"), return_state=True)
        again = pipeline(source=str(out / "later" / "landing"), return_state=True).result()
        yield load_settings(), first, ran.result(), again, str(ran.state_details.flow_run_id)


def test_a_degradation_alert_retrains_in_the_same_run_and_the_new_champion_forecasts(drifted):
    _, first, later, *_ = drifted
    before = first.champion
    assert first.forecast.model_id == before.model_id
    # April's weeks are complete with May delivered: far worse than the champion knew
    assert later.monitored.weeks_scored > 0
    assert later.monitored.alert == "open"
    assert any(b.startswith("MAE ") for b in later.monitored.verdict.breaches)
    # fewer new weeks than training.retrain_after_weeks: only the alert made it train
    assert later.train is not None, later.train_skipped
    after = later.champion
    assert after.model_id != before.model_id
    assert later.forecast.model_id == after.model_id


def test_the_next_run_closes_the_replaced_champions_alert_and_trains_nothing(drifted):
    settings, first, later, again, _ = drifted
    assert again.train is None and again.train_skipped
    with connect(settings.warehouse, read_only=True) as con:
        alerts = con.execute("select model_id, closed_reason from ml.alerts").fetchall()
    assert alerts == [
        (first.champion.model_id, f"replaced as champion by {later.champion.model_id}")
    ]


def test_the_pipeline_run_has_a_summary_artifact_linking_each_steps_run(drifted):
    *_, later, _, run_id = drifted
    with get_client(sync_client=True) as client:
        (card,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["pipeline-summary"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
            )
        )
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(
                any_=[run_id]
            ))
        )  # fmt: skip
    assert card.description == f"**Pipeline ok**: {later.brief()}"
    assert card.task_run_id is None  # the run's own, not a task's: the UI lists it first
    assert f"champion {later.champion.model_id}" in card.description
    ui = PREFECT_UI_URL.value()
    assert ui  # the test server's
    assert len(children) == 6  # ingest, transform, monitor, train, forecast, report
    for child in children:
        assert f"[{child.name}]({ui}/runs/flow-run/{child.id})" in card.data, child.name
        assert f"{ui}/runs/flow-run/{child.id}?tab=Artifacts" in card.data
    rows = [line for line in card.data.splitlines() if line.startswith("| ")]
    assert [r.split(" | ")[0] for r in rows[1:]] == [
        "| ingest", "| transform", "| monitor", "| train", "| champion", "| forecast", "| report"
    ]  # fmt: skip


def test_a_step_that_raises_still_leaves_the_summary_saying_which(
    env, monkeypatch, prefect_harness
):
    # a folder where the warehouse file should be: opening it raises in the ingest step
    blocked = env["HHCAST_WAREHOUSE"]
    Path(blocked).mkdir(parents=True)
    state = pipeline(return_state=True)
    assert state.is_failed()
    with get_client(sync_client=True) as client:
        (card,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["pipeline-summary"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[str(state.state_details.flow_run_id)]),
            )
        )
    assert card.description.startswith("**Pipeline needs attention**: ingest failed: ")
    rows = [line for line in card.data.splitlines() if line.startswith("| ")]
    assert [r.split(" | ")[:2] for r in rows[1:]] == [["| ingest", "failed"]]


def built(ok: bool = True) -> BuildSummary:
    summary = BuildSummary(BuildPlan("full", "first build", "f", []))
    if not ok:
        summary.failed.append("features_weekly: 3 rows with hh < 0")
    return summary


def outcome(status: str) -> FileOutcome:
    return FileOutcome(f"/landing/{status}.csv", "sha", 10, status, error="bad header")


def test_a_failed_training_is_the_summarys_verdict_and_the_steps_after_still_show():
    summary = PipelineSummary(
        IngestSummary([outcome("loaded")]), built(), None, None, False,
        train_error="candidate ridge: singular matrix",
        forecast=ForecastSummary(None, None, None, pl.DataFrame(), 0, "no champion yet: train"),
        report=ReportSummary("/lake/reports/r.html", {}, 1000, "https://r.example/r.html"),
        runs={"ingest": "i", "transform": "t", "train": "tr", "forecast": "f", "report": "r"},
    )  # fmt: skip
    steps = {s.name: s for s in summary.steps()}
    assert list(steps) == [
        "ingest", "transform", "monitor", "train", "champion", "forecast", "report"
    ]  # fmt: skip
    assert [s.name for s in summary.steps() if s.status == "failed"] == ["train"]
    assert steps["train"].verdict == "candidate ridge: singular matrix"
    assert steps["train"].run_id == "tr"
    assert (steps["champion"].status, steps["champion"].run_id) == ("none", None)
    assert steps["forecast"].status == "skipped"
    assert steps["report"].page == "https://r.example/r.html"
    assert summary.brief() == "1 file, no new dataset version, no champion yet, no forecast"


def test_a_rejected_file_or_a_failed_build_fails_its_step_and_what_follows_did_not_run():
    summary = PipelineSummary(
        IngestSummary([outcome("rejected"), outcome("loaded")]), built(ok=False), None, None,
        False, train_skipped="the transform failed; fix it first",
    )  # fmt: skip
    statuses = {s.name: s.status for s in summary.steps()}
    assert statuses == {
        "ingest": "failed", "transform": "failed", "monitor": "not run", "train": "skipped",
        "champion": "none", "forecast": "not run", "report": "not run",
    }  # fmt: skip
