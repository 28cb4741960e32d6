"""The registry: exactly one champion at any moment, even when a process dies mid-decision."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from types import SimpleNamespace

import polars as pl
import pytest

from hhcast.config import CandidateSettings
from tasks.ml import registry
from tasks.ml.artifacts import StoredModel
from tasks.ml.registry import ChampionChanged, Decision, RegistryError
from tasks.ml.training import FoldScore, ProductionFit, TrainedCandidate
from warehouse.connection import connect, ensure_schema

INTERVALS = {
    "method": "split-conformal", "residuals": "backtest", "folds": 4, "levels": [0.8, 0.95],
    "min_residuals": 20, "horizons": [1, 13], "pooled": {"n": 52, "0.8": 30.0, "0.95": 50.0},
    "by_horizon": {"1": {"n": 20, "0.8": 20.0, "0.95": 40.0}},
}  # fmt: skip
# ml.models as tables were created before step 6 (production fits and intervals)
OLD_MODELS_DDL = """
create schema ml;
create table ml.models (
    model_id varchar primary key, run_id varchar not null, candidate varchar not null,
    algorithm varchar not null, features json not null, hyperparameters json not null,
    seed integer not null, dataset_version varchar not null, train_start date not null,
    train_end date not null, train_weeks integer not null, holdout_start date not null,
    holdout_end date not null, metrics json not null, code_version varchar not null,
    artifact_uri varchar not null, artifact_sha256 varchar not null,
    created_at timestamptz not null, status varchar not null
        check (status in ('candidate', 'challenger', 'champion', 'retired'))
);
"""


def add_model(con, model_id: str, status: str = "candidate") -> None:
    """A model row as registered before step 6: no production fit, no intervals."""
    con.execute(
        "insert into ml.models (model_id, run_id, candidate, algorithm, features, "
        "hyperparameters, seed, dataset_version, train_start, train_end, train_weeks, "
        "holdout_start, holdout_end, metrics, code_version, artifact_uri, artifact_sha256, "
        "created_at, status) values (?, 'run', ?, 'linear', '[\"acft\"]', '{}', 7, 'v1', "
        "?, ?, 52, ?, ?, ?, 'test', ?, 'sha', ?, ?)",
        [
            model_id, model_id.split("-")[0], date(2020, 1, 6), date(2020, 12, 28),
            date(2021, 1, 4), date(2021, 6, 28), json.dumps({"mae": 1.0}),
            f"/lake/models/{model_id}.skops", datetime.now(UTC), status,
        ],
    )  # fmt: skip


def trained(model_id: str, algorithm: str) -> TrainedCandidate:
    """A candidate as a training run hands it to the registry: one backtest fold, one week."""
    errors = {"mae": 1.0, "rmse": 1.0, "wape": 0.1, "bias": 0.0, "r2": 0.5}
    fold, holdout = (
        FoldScore(split, number, date(2020, 1, 6), date(2020, 12, 28), test_week, test_week,
                  52, 1, errors)
        for split, number, test_week in [
            ("backtest", 1, date(2020, 12, 28)), ("holdout", None, date(2021, 1, 4))
        ]
    )  # fmt: skip
    return TrainedCandidate(
        name=model_id.split("-")[0],
        model_id=model_id,
        settings=CandidateSettings(algorithm=algorithm),
        features=["acft"],
        forecaster=SimpleNamespace(algorithm=algorithm, features=["acft"]),
        folds=[fold],
        holdout=holdout,
        predictions=pl.DataFrame(
            {"week_start": [date(2021, 1, 4)], "y_true": [10.0], "y_pred": [9.0]}
        ),
        seconds=0.0,
        production=ProductionFit(
            SimpleNamespace(algorithm=algorithm, features=["acft"]),
            date(2020, 1, 6),
            date(2021, 1, 4),
            53,
        ),
        intervals=INTERVALS,
        residuals=pl.DataFrame(),
    )


def stored(model_id: str) -> StoredModel:
    return StoredModel(
        scored=(f"/lake/{model_id}/scored", "sha-scored"),
        production=(f"/lake/{model_id}/production", "sha-production"),
    )


SHIFTS = [{"since": "2020-11-02", "factor": 1.2, "weeks_after": 10, "t_stat": 9.5}]


def register(con, run_id: str) -> tuple[str, str]:
    """Register a run's naive baseline and ridge (the challenger), trained on a history
    rebased by SHIFTS; return their ids."""
    naive, ridge = trained(f"naive-{run_id}", "naive"), trained(f"ridge-{run_id}", "linear")
    bootstrap = Decision(
        "bootstrap", None, naive.model_id, naive.model_id, "bootstrap", "policy", "first"
    )
    registry.register_run(
        con, [naive, ridge], {m: stored(m) for m in (naive.model_id, ridge.model_id)},
        run_id=run_id, dataset_version="v1", challenger_id=ridge.model_id, seed=7,
        code_version="test", bootstrap=bootstrap, level_shifts=SHIFTS,
    )  # fmt: skip
    return naive.model_id, ridge.model_id


def statuses(con) -> dict[str, str]:
    return dict(con.execute("select model_id, status from ml.models").fetchall())


def promote(from_model: str | None, to_model: str) -> Decision:
    return Decision("promote", from_model, to_model, to_model, "auto", "policy", "better")


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "hhcast.duckdb"
    with connect(path) as con:
        ensure_schema(con)
        add_model(con, "naive-a", "champion")
        add_model(con, "ridge-b", "challenger")
        add_model(con, "mlp-c")
    return path


def test_promotion_swaps_the_champion_and_records_the_decision(warehouse):
    with connect(warehouse) as con:
        registry.decide(con, promote("naive-a", "ridge-b"), run_id="r1")
        assert statuses(con) == {"naive-a": "retired", "ridge-b": "champion", "mlp-c": "candidate"}
        assert registry.champion(con).model_id == "ridge-b"
        (row,) = con.execute(
            "select action, from_model, to_model, champion_after, run_id from ml.promotions"
        ).fetchall()
        assert row == ("promote", "naive-a", "ridge-b", "ridge-b", "r1")


def test_keeping_the_champion_changes_no_status_but_is_recorded(warehouse):
    with connect(warehouse) as con:
        keep = Decision("keep", "naive-a", "ridge-b", "naive-a", "manual", "ana", "not yet")
        registry.decide(con, keep, run_id="r1")
        assert statuses(con)["naive-a"] == "champion"
        assert statuses(con)["ridge-b"] == "challenger"
        assert con.execute("select decided_by, note from ml.promotions").fetchall() == [
            ("ana", "not yet")
        ]


def test_a_decision_made_against_an_old_champion_is_refused(warehouse):
    with connect(warehouse) as con:
        registry.decide(con, promote("naive-a", "ridge-b"), run_id="r1")
        with pytest.raises(ChampionChanged, match="the champion is now ridge-b"):
            registry.decide(con, promote("naive-a", "mlp-c"), run_id="r2")
        assert registry.champion(con).model_id == "ridge-b"
        assert con.execute("select count(*) from ml.promotions").fetchall() == [(1,)]


def test_an_error_between_the_two_status_changes_leaves_the_old_champion(warehouse, monkeypatch):
    real = registry._set_status

    def fail_on_crowning(con, model_id, status):
        if status == "champion":
            raise RuntimeError("injected crash after retiring the champion")
        real(con, model_id, status)

    monkeypatch.setattr(registry, "_set_status", fail_on_crowning)
    with connect(warehouse) as con:
        with pytest.raises(RuntimeError, match="injected"):
            registry.decide(con, promote("naive-a", "ridge-b"), run_id="r1")
        assert statuses(con) == {
            "naive-a": "champion",
            "ridge-b": "challenger",
            "mlp-c": "candidate",
        }
        assert con.execute("select count(*) from ml.promotions").fetchall() == [(0,)]


def test_a_process_killed_between_the_two_status_changes_leaves_one_champion(warehouse):
    # The old champion is retired inside the transaction, then the process dies at once (no
    # exception handler, no rollback call) before the challenger is crowned.
    script = textwrap.dedent(
        f"""
        import os
        from tasks.ml import registry
        from tasks.ml.registry import Decision
        from warehouse.connection import connect

        real = registry._set_status
        def die_on_crowning(con, model_id, status):
            if status == "champion":
                os._exit(17)
            real(con, model_id, status)
        registry._set_status = die_on_crowning
        with connect({str(warehouse)!r}) as con:
            registry.decide(con, Decision("promote", "naive-a", "ridge-b", "ridge-b", "auto",
                                          "policy", "better"), run_id="r1")
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == 17, killed.stderr
    with connect(warehouse) as con:
        champions = con.execute("select model_id from ml.models where status = 'champion'")
        assert champions.fetchall() == [("naive-a",)]
        assert con.execute("select count(*) from ml.promotions").fetchall() == [(0,)]
        # and the registry still works afterwards
        registry.decide(con, promote("naive-a", "ridge-b"), run_id="r2")
        assert registry.champion(con).model_id == "ridge-b"


def test_rollback_restores_the_champion_that_was_replaced(warehouse):
    with connect(warehouse) as con:
        registry.decide(con, promote("naive-a", "ridge-b"), run_id="r1")
        registry.decide(con, promote("ridge-b", "mlp-c"), run_id="r2")
        back = registry.rollback_decision(con, decided_by="ana", note="mlp drifts")
        assert (back.from_model, back.champion_after) == ("mlp-c", "ridge-b")
        registry.decide(con, back, run_id=None)
        assert statuses(con) == {"naive-a": "retired", "ridge-b": "champion", "mlp-c": "retired"}
        # a second rollback walks further back, it does not toggle
        registry.decide(con, registry.rollback_decision(con, "ana", ""), run_id=None)
        assert registry.champion(con).model_id == "naive-a"
        actions = con.execute("select action from ml.promotions order by decided_at").fetchall()
        assert [a for (a,) in actions] == ["promote", "promote", "rollback", "rollback"]


def test_rollback_without_an_earlier_champion_says_so(warehouse):
    with connect(warehouse) as con, pytest.raises(RegistryError, match="no earlier champion"):
        registry.rollback_decision(con, decided_by="ana", note="")


def test_a_second_champion_is_never_committed(warehouse):
    with connect(warehouse) as con:
        wrong = Decision("promote", "naive-a", "ridge-b", "ridge-b", "auto", "policy", "")
        con.execute("update ml.models set status = 'champion' where model_id = 'mlp-c'")
        with pytest.raises(RegistryError, match="2 champions"):
            registry.decide(con, wrong, run_id="r1")
        assert con.execute("select count(*) from ml.promotions").fetchall() == [(0,)]


def test_exactly_one_challenger_after_a_keep_a_crash_and_a_review(tmp_path):
    # Each run registers a challenger; a run that never decides (crashed, cancelled, or still
    # waiting for its review) must not leave it beside the next run's.
    with connect(tmp_path / "hhcast.duckdb") as con:
        ensure_schema(con)
        naive, first = register(con, "r1")  # the first run installs the naive champion ...
        keep = Decision("keep", naive, first, naive, "manual", "ana", "not yet")
        registry.decide(con, keep, run_id="r1")  # ... and its challenger is kept out
        assert statuses(con)[first] == "challenger"  # the latest contender, until the next run
        _, crashed = register(con, "r2")  # dies before deciding
        _, reviewed = register(con, "r3")  # paused for a review
        challengers = [m for m, s in statuses(con).items() if s == "challenger"]
        assert challengers == [reviewed]
        assert statuses(con)[first] == statuses(con)[crashed] == "candidate"
        assert registry.champion(con).model_id == naive

        registry.decide(con, promote(naive, reviewed), run_id="r3")
        assert sorted(statuses(con).values()).count("challenger") == 0
        assert statuses(con)[reviewed] == "champion" and statuses(con)[naive] == "retired"


def test_a_review_outlived_by_a_newer_run_can_still_promote_its_model(tmp_path):
    with connect(tmp_path / "hhcast.duckdb") as con:
        ensure_schema(con)
        naive, waiting = register(con, "r1")  # its review takes a day ...
        _, newer = register(con, "r2")  # ... while the next run registers its challenger
        registry.decide(con, promote(naive, waiting), run_id="r1")
        assert statuses(con)[waiting] == "champion"
        assert statuses(con)[newer] == "challenger"


def test_a_model_is_registered_with_both_fits_and_its_intervals(tmp_path):
    with connect(tmp_path / "hhcast.duckdb") as con:
        ensure_schema(con)
        _, ridge = register(con, "r1")
        model = registry.get_model(con, ridge)
    assert (model.artifact_uri, model.artifact_sha256) == (f"/lake/{ridge}/scored", "sha-scored")
    assert model.forecast_artifact() == (f"/lake/{ridge}/production", "sha-production")
    assert (model.train_start, model.train_end) == (date(2020, 1, 6), date(2020, 12, 28))
    assert (model.production_train_start, model.production_train_end) == (
        date(2020, 1, 6), date(2021, 1, 4)
    )  # fmt: skip
    assert model.production_train_weeks == 53
    assert model.forecast_train_end == date(2021, 1, 4)
    assert model.intervals == INTERVALS
    assert model.level_shifts == SHIFTS
    assert (model.half_width(0.8, 1), model.half_width(0.8, 2), model.half_width(0.95, 8)) == (
        20.0, 30.0, 50.0
    )  # fmt: skip


def test_the_schema_adds_the_new_columns_to_an_old_registry_and_keeps_its_rows(tmp_path):
    with connect(tmp_path / "hhcast.duckdb") as con:
        con.execute(OLD_MODELS_DDL)
        add_model(con, "naive-a", "champion")
        add_model(con, "ridge-b", "challenger")
        ensure_schema(con)
        ensure_schema(con)  # runs on every connection: a second time changes nothing
        columns = [name for (name,) in con.execute(
            "select column_name from information_schema.columns where table_name = 'models' "
            "order by ordinal_position"
        ).fetchall()]  # fmt: skip
        assert columns[-7:] == [
            "production_artifact_uri", "production_artifact_sha256", "production_train_start",
            "production_train_end", "production_train_weeks", "intervals", "level_shifts",
        ]  # fmt: skip
        assert statuses(con) == {"naive-a": "champion", "ridge-b": "challenger"}
        old = registry.champion(con)
        # an old model forecasts with its scored artifact and has no interval
        assert old.forecast_artifact() == ("/lake/models/naive-a.skops", "sha")
        assert old.production_train_end is None and old.forecast_train_end == date(2020, 12, 28)
        assert old.intervals is None and old.half_width(0.8, 1) is None
        assert old.level_shifts is None
        # and new runs register beside the old rows
        _, ridge = register(con, "r1")
        assert registry.get_model(con, ridge).forecast_artifact()[1] == "sha-production"
        assert registry.champion(con).model_id == "naive-a"
        listing = registry.list_models(con).filter(pl.col("model_id") == "naive-a")
        assert listing["coverage_80_95"].to_list() == [None]  # no intervals, no coverage
