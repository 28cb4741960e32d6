"""The training flow under Prefect: auto promotion both ways, a reviewer's approve / reject
through the real pause / resume API, a review that never comes, and retraining on new files."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from prefect import resume_flow_run
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

from flows.cli import main
from flows.ingest import ingest
from flows.pipeline import pipeline
from flows.retrain import retrain
from flows.scratch import QUICK_CANDIDATES
from flows.train import train_models
from flows.transform import transform
from hhcast.config import load_settings
from hhcast.sample import generate
from warehouse.connection import connect
from warehouse.replica import read_stamp

pytestmark = pytest.mark.slow


@pytest.fixture
def quick(trainable, monkeypatch):
    """`trainable`, training two quick candidates only: for the tests of the loop (policies,
    reviews, the pipeline's schedule, retraining). The first test trains every candidate
    hhcast.yaml configures."""
    monkeypatch.delenv("HHCAST_TRAINING__CANDIDATES__MLP__PARAMS__EPOCHS")  # no MLP here
    monkeypatch.setenv("HHCAST_TRAINING__CANDIDATES", QUICK_CANDIDATES)
    return load_settings()


def query(settings, sql: str, params=None) -> list[tuple]:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def champions(settings) -> list[str]:
    return [
        m for (m,) in query(settings, "select model_id from ml.models where status = 'champion'")
    ]


def replica_champions(settings) -> tuple[str, list[str]]:
    """Who published the read replica, and the champions it holds."""
    with connect(settings.warehouse.replica_path, read_only=True) as copy:
        sql = "select model_id from ml.models where status = 'champion'"
        return read_stamp(copy).published_by, [m for (m,) in copy.execute(sql).fetchall()]


def decisions(settings) -> list[tuple]:
    return query(
        settings,
        "select action, from_model, to_model, champion_after, policy, decided_by, note "
        "from ml.promotions order by decided_at",
    )


def test_auto_promotes_over_the_baseline_then_keeps_the_champion_on_a_tie(trainable):
    settings = trainable
    first = train_models(return_state=True)
    assert first.is_completed()
    run1 = first.result()
    # What the UI shows: the run's name, the candidates' progress, the cards' verdicts.
    run_id = first.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        name = client.read_flow_run(run_id).name
        cards = {
            a.key: a
            for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
        }
    assert name == f"train-latest-{settings.promotion.policy}"
    progress = cards["training-progress"]
    assert float(progress.data) == 100.0
    assert progress.description.startswith(f"**Candidates trained**: {len(run1.trained)} of ")
    assert cards["champion-vs-challenger"].description.startswith("**Champion vs challenger")
    assert run1.challenger.model_id in cards["training-candidates"].description
    naive = next(c for c in run1.trained if c.algorithm == "naive")
    challenger = run1.challenger
    assert challenger.algorithm != "naive"
    assert [d[:5] for d in decisions(settings)] == [
        ("bootstrap", None, naive.model_id, naive.model_id, "bootstrap"),
        ("promote", naive.model_id, challenger.model_id, challenger.model_id, "auto"),
    ]
    assert champions(settings) == [challenger.model_id]
    n = len(run1.trained)
    assert query(
        settings, "select split, count(*) from ml.backtest_metrics group by all order by 1"
    ) == [
        ("backtest", n * settings.training.backtest_folds),
        ("holdout", n),
    ]
    assert query(settings, "select count(*) from ml.holdout_predictions") == [
        (n * settings.training.holdout_weeks,)
    ]
    # The production fit learnt every complete week, the holdout's included; the scored fit,
    # whose artifact promotion compares, stops before it. Intervals from the 4 x 13 backtest
    # errors, their coverage checked on the holdout.
    for model in run1.trained:
        (row,) = query(
            settings,
            "select train_start, train_end, holdout_start, holdout_end, production_train_start, "
            "production_train_end, production_train_weeks - train_weeks, "
            "production_artifact_sha256 = artifact_sha256, "
            "(intervals->>'$.pooled.n')::int, metrics->>'$.coverage_80' is not null "
            "from ml.models where model_id = ?",
            [model.model_id],
        )
        start, end, holdout_start, holdout_end, p_start, p_end, more, same, n, covered = row
        assert end < holdout_start and (p_start, p_end) == (start, holdout_end)
        assert more == settings.training.holdout_weeks
        assert same is (model.algorithm == "naive")
        assert (n, covered) == (52, True)

    # Same data, same seed: the new challenger ties the champion and does not clear the margin.
    run2 = train_models(return_state=True).result()
    assert run2.decision.action == "keep"
    assert run2.challenger.metrics == challenger.metrics
    assert champions(settings) == [challenger.model_id]
    # the champion was re-scored on this run's holdout, not its old numbers reused
    rescored = query(
        settings,
        "select mae from ml.backtest_metrics where run_id = ? and model_id = ?",
        [run2.run_id, challenger.model_id],
    )
    assert rescored == [(pytest.approx(challenger.holdout.metrics["mae"]),)]
    assert run2.comparison.champion_metrics == pytest.approx(challenger.holdout.metrics)


def test_policy_never_records_without_promoting(quick):
    summary = train_models(promotion="never", return_state=True).result()
    naive = next(c for c in summary.trained if c.algorithm == "naive")
    assert champions(quick) == [naive.model_id]
    action, *_, policy, decided_by, note = decisions(quick)[-1]
    assert (action, policy, decided_by) == ("keep", "never", "policy")
    assert note.startswith("recorded only; auto would promote")


def test_the_pipeline_trains_once_per_dataset_version(quick):
    first = pipeline(return_state=True)
    assert first.is_completed(), first.message
    summary = first.result()
    assert summary.transform.plan.mode == "up_to_date"  # the version exists, no model on it
    assert summary.train is not None and summary.train.decision.action == "promote"
    assert summary.champion.model_id == summary.train.challenger.model_id
    assert summary.champion_line().startswith(f"{summary.champion.model_id} (")
    # each step published the replica; the last one, the forecast, holds the new champion
    assert replica_champions(quick) == ("forecast", [summary.champion.model_id])
    with connect(quick.warehouse.replica_path, read_only=True) as copy:
        forecasts = copy.execute("select count(*) from ml.predictions").fetchall()
    assert forecasts == query(quick, "select count(*) from ml.predictions") != [(0,)]

    again = pipeline(return_state=True).result()
    assert again.train is None
    assert again.training_line() == ("skipped: models were trained on these weeks already")
    assert again.champion.model_id == summary.champion.model_id
    forced = pipeline(retrain=True, return_state=True).result()
    assert forced.train is not None and forced.train.decision.action == "keep"


def test_models_lists_the_registry_and_rollback_restores_the_champion(quick, capsys):
    summary = train_models(return_state=True).result()
    assert summary.decision.action == "promote"
    naive = next(c for c in summary.trained if c.algorithm == "naive").model_id
    capsys.readouterr()

    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    for candidate in summary.trained:
        assert candidate.model_id in listing
    assert "coverage_80_95" in listing
    (champion_line,) = [line for line in listing.splitlines() if "champion" in line]
    assert summary.challenger.model_id in champion_line

    assert main(["rollback", "--by", "ana", "--note", "bad forecasts in week 3"]) == 0
    assert f"champion is now {naive}" in capsys.readouterr().out
    assert champions(quick) == [naive]
    assert replica_champions(quick) == ("rollback", [naive])
    assert decisions(quick)[-1] == (
        "rollback", summary.challenger.model_id, naive, naive, "rollback", "ana",
        "bad forecasts in week 3",
    )  # fmt: skip
    # the baseline replaced nobody: there is nothing further back to restore
    assert main(["rollback"]) == 2
    assert "rollback" in capsys.readouterr().err
    assert champions(quick) == [naive]


def paused_train_run(timeout: float = 180.0):
    """The paused training run, once it has paused."""
    paused = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    )
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(flow_run_filter=paused)
            if runs:
                (run,) = runs
                return run
            time.sleep(0.5)
    raise AssertionError("the training run never paused for review")


def train_in_background(**parameters):
    outcome = {}
    # a daemon: if the test fails before resuming the run, the session still ends
    thread = threading.Thread(
        target=lambda: outcome.update(state=train_models(**parameters, return_state=True)),
        daemon=True,
    )
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "rejected"])
def test_manual_promotion_waits_for_the_reviewer(quick, approve, monkeypatch):
    monkeypatch.setenv("HHCAST_PROMOTION__MANUAL_TIMEOUT_SECONDS", "300")
    thread, outcome = train_in_background(promotion="manual")
    run = paused_train_run()
    # While it waits, the registry already holds the candidates and the baseline champion.
    (naive,) = champions(quick)
    assert naive.startswith("naive")
    with get_client(sync_client=True) as client:
        (report,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["champion-vs-challenger"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]),
            )
        )
    assert "vs champion" in report.data
    assert "share of these weeks inside them: champion 80%:" in report.data
    resume_flow_run(run.id, run_input={"approve": approve, "reviewer": "ana", "note": "checked"})
    thread.join(timeout=180)
    state = outcome["state"]
    assert state.is_completed()
    summary = state.result()
    challenger = summary.challenger.model_id
    action, from_model, to_model, after, policy, decided_by, note = decisions(quick)[-1]
    assert (from_model, to_model, policy, decided_by) == (naive, challenger, "manual", "ana")
    if approve:
        assert (action, after, note) == ("promote", challenger, "approved. checked")
        assert champions(quick) == [challenger]
    else:
        assert (action, after, note) == ("keep", naive, "rejected. checked")
        assert champions(quick) == [naive]


def test_a_review_that_never_comes_keeps_the_champion(quick, monkeypatch):
    monkeypatch.setenv("HHCAST_PROMOTION__MANUAL_TIMEOUT_SECONDS", "2")
    state = train_models(promotion="manual", return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert summary.decision.action == "keep"
    naive = next(c for c in summary.trained if c.algorithm == "naive")
    assert champions(quick) == [naive.model_id]
    assert decisions(quick)[-1][-1] == "no review within 2 s, the champion stays"


def test_retrain_lands_new_files_and_trains_on_the_new_version(
    tmp_path, prefect_harness, monkeypatch
):
    generate(tmp_path / "first", preset="small", seed=7, end=date(2022, 4, 30))
    generate(tmp_path / "later", preset="small", seed=7, start=date(2022, 5, 1))
    for name, value in {
        "HHCAST_LANDING": str(tmp_path / "first" / "landing"),
        "HHCAST_LAKE": str(tmp_path / "lake"),
        "HHCAST_WAREHOUSE": str(tmp_path / "wh" / "hhcast.duckdb"),
        "HHCAST_TRAINING__CANDIDATES": QUICK_CANDIDATES,
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    ingest(return_state=True).result()
    transform(return_state=True).result()
    (before,) = query(settings, "select version_id, last_week from meta.dataset_versions")

    new_files = sorted(str(p) for p in (tmp_path / "later" / "landing").rglob("*.*"))
    state = retrain(files=new_files, return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()

    landed = {p.name for p in (tmp_path / "first" / "landing").iterdir()}
    assert {f.rsplit("/", 1)[1] for f in new_files} <= landed
    assert summary.ingest.by_status["loaded"] == len(new_files)
    assert summary.transform.plan.mode == "incremental"
    latest = summary.transform.version
    assert latest.version_id != before[0] and latest.last_week > before[1]
    assert summary.train.dataset_version == latest.version_id
    assert {v for (v,) in query(settings, "select distinct dataset_version from ml.models")} == {
        latest.version_id
    }
    assert champions(settings) == [summary.champion.model_id]
