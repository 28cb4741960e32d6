"""The training flow's registry steps: a first champion with the models, decisions that lose a
race still recorded, and when the pipeline has to train again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import date

import pytest
from weekly_rows import FEATURES, weekly_features

from hhcast.config import TrainingSettings
from tasks.ml import registry
from tasks.ml.dataset import TrainingSet, time_split
from tasks.ml.errors import ChampionChanged
from tasks.ml.promotion import bootstrap_decision
from tasks.ml.registry import Decision
from tasks.ml.training import train_candidate
from tasks.train import (
    current_champion,
    record_decision,
    register,
    store_artifacts,
    untrained_version,
)
from warehouse.connection import connect, ensure_schema

CONFIG = TrainingSettings(
    features=FEATURES,
    holdout_weeks=26,
    backtest_folds=2,
    fold_weeks=13,
    min_train_weeks=52,
    candidates={
        "naive": {"algorithm": "naive", "params": {"column": "hh_lag_52"}},
        "ridge": {"algorithm": "linear", "params": {"alpha": 1.0}},
    },
)


def registered(trained, challenger, dataset, run_id, settings):
    """The train flow's registration: artifacts stored, then the rows with the bootstrap."""
    stored = store_artifacts.fn(trained, settings)
    bootstrap = bootstrap_decision(trained)
    return register.fn(trained, stored, challenger, dataset, bootstrap, run_id, settings)


def train_run() -> list:
    """The naive baseline and ridge trained on synthetic weeks, with new model ids."""
    split = time_split(weekly_features(160), CONFIG)
    return [train_candidate(n, c, split, CONFIG) for n, c in CONFIG.candidates.items()]


@pytest.fixture
def trained():
    return train_run()


def rows(settings, sql: str, params=None) -> list[tuple]:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def add_version(settings, version_id: str, training_hash=None, last_complete_week=None) -> None:
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        con.execute(
            "insert into meta.dataset_versions (version_id, built_at, mode, fingerprint, "
            "content_hash, marts, weeks, training_hash, last_complete_week) "
            "values (?, now(), 'full', 'f', 'c', '{}', 160, ?, ?)",
            [version_id, training_hash, last_complete_week],
        )


def test_the_first_models_arrive_with_their_champion_in_one_transaction(
    trained, settings, monkeypatch
):
    naive, ridge = trained
    real = registry._apply

    def crash_while_crowning(con, decision, run_id):
        real(con, decision, run_id)
        raise RuntimeError("injected crash after installing the first champion")

    monkeypatch.setattr(registry, "_apply", crash_while_crowning)
    with pytest.raises(RuntimeError, match="injected"):
        registered(trained, ridge, TrainingSet("v1", weekly_features(160)), "run-1", settings)
    # nothing committed: no model sits in the registry without a champion
    assert rows(settings, "select count(*) from ml.models") == [(0,)]
    assert rows(settings, "select count(*) from ml.promotions") == [(0,)]

    monkeypatch.setattr(registry, "_apply", real)
    champion = registered(trained, ridge, TrainingSet("v1", weekly_features(160)), "r1", settings)
    assert champion.model_id == naive.model_id
    assert rows(settings, "select model_id, status from ml.models order by 1") == sorted(
        [(naive.model_id, "champion"), (ridge.model_id, "challenger")]
    )
    assert rows(settings, "select action, run_id from ml.promotions") == [("bootstrap", "r1")]


def test_a_decision_that_lost_a_race_is_recorded_as_kept_and_fails_the_run(trained, settings):
    naive, ridge = trained
    registered(trained, ridge, TrainingSet("v1", weekly_features(160)), "r1", settings)
    # another run promoted ridge meanwhile; this run's reviewer approved ridge over naive
    with connect(settings.warehouse) as con:
        registry.decide(
            con,
            Decision("promote", naive.model_id, ridge.model_id, ridge.model_id, "auto",
                     "policy", "other run"),
            "r2",
        )  # fmt: skip
    approved = Decision(
        "promote", naive.model_id, ridge.model_id, ridge.model_id, "manual", "ana", "approved."
    )
    with pytest.raises(ChampionChanged, match=f"the champion is now {ridge.model_id}"):
        record_decision.fn(approved, "r3", settings)
    (kept,) = rows(
        settings,
        "select action, from_model, champion_after, decided_by, note from ml.promotions "
        "where run_id = 'r3'",
    )
    assert kept[:4] == ("keep", ridge.model_id, ridge.model_id, "ana")
    assert kept[4].startswith(
        f"not applied: promote of {ridge.model_id} was decided against {naive.model_id}"
    )
    assert "approved." in kept[4]
    assert rows(settings, "select model_id from ml.models where status = 'champion'") == [
        (ridge.model_id,)
    ]


def test_a_version_counts_as_trained_once_a_run_on_it_decided(trained, settings):
    add_version(settings, "v0")
    registered(trained, trained[1], TrainingSet("v0", weekly_features(160)), "r0", settings)
    add_version(settings, "v1")
    settings = every_week(settings)
    assert untrained_version.fn(settings, "auto")[0] == "v1"
    # a run registers its models on v1, then fails before deciding (a champion exists)
    again = train_run()
    registered(again, again[1], TrainingSet("v1", weekly_features(160)), "failed", settings)
    assert untrained_version.fn(settings, "auto")[0] == "v1"  # train again
    # under the manual policy the same run may still be waiting for its review
    assert untrained_version.fn(settings, "manual")[0] is None
    with connect(settings.warehouse) as con:
        con.execute(
            "insert into ml.promotions (decision_id, decided_at, run_id, action, "
            "champion_after, policy, decided_by) "
            "values ('d1', now(), 'failed', 'keep', ?, 'auto', 'policy')",
            [trained[0].model_id],
        )
    assert untrained_version.fn(settings, "auto")[0] is None
    add_version(settings, "v2")
    assert untrained_version.fn(settings, "auto")[0] == "v2"


def test_a_version_with_the_same_complete_weeks_is_no_news_to_training(trained, settings):
    # e.g. a new plan issue, or days delivered that complete no week
    add_version(settings, "v0", "weeks-a", date(2025, 1, 6))
    registered(trained, trained[1], TrainingSet("v0", weekly_features(160)), "r0", settings)
    add_version(settings, "v1", "weeks-a", date(2025, 1, 6))
    version, reason = untrained_version.fn(settings, "auto")
    assert (version, reason) == (None, "models were trained on these weeks already")
    add_version(settings, "v2", "weeks-b", date(2025, 1, 6))  # a correction of past weeks
    assert untrained_version.fn(settings, "auto")[0] is None  # waits for 13 new weeks ...
    assert untrained_version.fn(every_week(settings), "auto")[0] == "v2"  # ... or 1


def every_week(settings):
    """The settings with training.retrain_after_weeks: 1."""
    training = settings.training.model_copy(update={"retrain_after_weeks": 1})
    return settings.with_overrides(training=training)


def test_the_pipeline_retrains_after_the_configured_number_of_new_weeks(trained, settings):
    training = settings.training.model_copy(update={"retrain_after_weeks": 4})
    settings = settings.with_overrides(training=training)
    add_version(settings, "v0", "weeks-a", date(2025, 1, 6))
    registered(trained, trained[1], TrainingSet("v0", weekly_features(160)), "r0", settings)
    add_version(settings, "v1", "weeks-b", date(2025, 1, 27))
    version, reason = untrained_version.fn(settings, "auto")
    assert version is None
    assert reason.startswith("3 new week(s) since the last training; it retrains after 4")
    add_version(settings, "v2", "weeks-c", date(2025, 2, 3))
    assert untrained_version.fn(settings, "auto") == ("v2", "new weeks to learn from")


@pytest.mark.parametrize(
    "read", [current_champion, lambda settings: untrained_version.fn(settings, "auto")[0]],
    ids=["current_champion", "untrained_version"],
)  # fmt: skip
def test_the_pipelines_reads_wait_their_turn_behind_another_runs_write(
    settings, read, tmp_path, caplog
):
    # Another run (an ingest, say) holds the lock and the file; DuckDB would not even open it.
    ready, warehouse = tmp_path / "ready", str(settings.warehouse)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import pathlib, time
            from warehouse.connection import connect, ensure_schema, writer_lock
            with writer_lock({warehouse!r}), connect({warehouse!r}) as con:
                ensure_schema(con)
                pathlib.Path({str(ready)!r}).touch()
                time.sleep(1.5)
        """)]
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and holder.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the other run never got hold of the warehouse"
        assert read(settings) is None  # no champion, no version: it got in, after the other
        assert f"waiting for the warehouse writer lock held by pid {holder.pid}" in caplog.text
    finally:
        holder.kill()
        holder.wait()
