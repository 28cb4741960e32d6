"""The model registry in the warehouse: trained models, their scores, and who is champion.

The champion changes only in `decide`, one transaction that checks the champion is still the
one the decision was made against, swaps it, records the decision and verifies that exactly
one champion remains before committing. A crash anywhere inside leaves the last commit:
never zero champions, never two.

The challenger is the latest training run's pick. A run registering its models makes the
earlier challenger a `candidate` in the same transaction, so at most one challenger exists
even when runs end without deciding (crashed, cancelled, or a review still waiting). A `keep`
leaves the challenger in place as the latest contender until the next run registers; a
`promote` makes it the champion.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb
import polars as pl

from tasks.ml import intervals as conformal
from tasks.ml.artifacts import StoredModel
from tasks.ml.errors import ChampionChanged, RegistryError
from tasks.ml.training import FoldScore, TrainedCandidate
from warehouse.connection import first_row


@dataclass(frozen=True)
class ModelRecord:
    """One row of ml.models.

    `artifact_*` and `train_*` are the scored fit (the weeks before the holdout), which
    comparisons re-score; `production_*` the fit on every complete week, which forecasts.
    Models registered before step 6 have no production fit and no intervals (None).
    """

    model_id: str
    candidate: str
    algorithm: str
    features: list[str]
    dataset_version: str
    train_start: date
    train_end: date
    holdout_start: date
    holdout_end: date
    metrics: dict[str, float]
    artifact_uri: str
    artifact_sha256: str
    created_at: datetime
    status: str
    production_artifact_uri: str | None = None
    production_artifact_sha256: str | None = None
    production_train_start: date | None = None
    production_train_end: date | None = None
    production_train_weeks: int | None = None
    intervals: dict | None = None
    level_shifts: list[dict] | None = None  # what its training rebased the history by

    def forecast_artifact(self) -> tuple[str, str]:
        """The artifact that forecasts, its URI and sha256: the production fit, or the scored
        one for a model registered before production fits existed."""
        if self.production_artifact_uri is None or self.production_artifact_sha256 is None:
            return self.artifact_uri, self.artifact_sha256
        return self.production_artifact_uri, self.production_artifact_sha256

    @property
    def forecast_train_end(self) -> date:
        """The last week the forecasting artifact learnt: horizon 1 is the week after it."""
        return self.production_train_end or self.train_end

    def half_width(self, level: float, horizon: int) -> float | None:
        """The interval's reach either side of a forecast `horizon` weeks past
        `forecast_train_end`, in HH; None for a model registered without intervals."""
        return conformal.half_width(self.intervals, level, horizon)


@dataclass(frozen=True)
class Decision:
    """A decision about the champion, as ml.promotions records it."""

    action: str  # bootstrap | promote | keep | rollback
    from_model: str | None
    to_model: str | None
    champion_after: str
    policy: str
    decided_by: str
    note: str
    metrics: dict | None = None


_MODEL_COLUMNS = (
    "model_id, candidate, algorithm, features, dataset_version, train_start, train_end, "
    "holdout_start, holdout_end, metrics, artifact_uri, artifact_sha256, created_at, status, "
    "production_artifact_uri, production_artifact_sha256, production_train_start, "
    "production_train_end, production_train_weeks, intervals, level_shifts"
)
_INSERT_COLUMNS = (
    "model_id, run_id, candidate, algorithm, features, hyperparameters, seed, dataset_version, "
    "train_start, train_end, train_weeks, holdout_start, holdout_end, metrics, code_version, "
    "artifact_uri, artifact_sha256, created_at, status, production_artifact_uri, "
    "production_artifact_sha256, production_train_start, production_train_end, "
    "production_train_weeks, intervals, level_shifts"
)
_INSERT_VALUES = ", ".join("?" for _ in _INSERT_COLUMNS.split(", "))


def register_run(
    con: duckdb.DuckDBPyConnection,
    trained: list[TrainedCandidate],
    artifacts: dict[str, StoredModel],
    *,
    run_id: str,
    dataset_version: str,
    challenger_id: str,
    seed: int,
    code_version: str,
    bootstrap: Decision | None = None,
    level_shifts: list[dict] | None = None,
) -> None:
    """Record a training run's candidates, their fold scores and holdout predictions at once.

    `bootstrap`, the decision that installs a first champion, is applied in the same
    transaction when there is no champion yet: models never sit in the registry without one.
    The earlier challenger, decided on or not, becomes a candidate: this run's replaces it.
    """
    created = datetime.now(UTC)
    con.begin()
    try:
        con.execute("update ml.models set status = 'candidate' where status = 'challenger'")
        for c in trained:
            stored, production = artifacts[c.model_id], c.production
            con.execute(
                f"insert into ml.models ({_INSERT_COLUMNS}) values ({_INSERT_VALUES})",
                [
                    c.model_id, run_id, c.name, c.algorithm, json.dumps(c.features),
                    json.dumps(c.settings.params, sort_keys=True), seed, dataset_version,
                    c.holdout.train_start, c.holdout.train_end, c.holdout.n_train,
                    c.holdout.test_start, c.holdout.test_end, json.dumps(c.metrics),
                    code_version, *stored.scored, created,
                    "challenger" if c.model_id == challenger_id else "candidate",
                    *stored.production, production.train_start, production.train_end,
                    production.n_train, json.dumps(c.intervals),
                    json.dumps(level_shifts or []),
                ],
            )  # fmt: skip
            record_scores(con, run_id, c.model_id, [*c.folds, c.holdout], c.predictions)
        if bootstrap is not None and _champion_id(con) is None:
            _apply(con, bootstrap, run_id)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def record_scores(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    model_id: str,
    scores: list[FoldScore],
    predictions: pl.DataFrame,
) -> None:
    """Write fold and holdout errors and holdout predictions of one model for one run."""
    con.executemany(
        "insert into ml.backtest_metrics values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                run_id, model_id, s.split, s.fold, s.train_start, s.train_end, s.test_start,
                s.test_end, s.n_train, s.n_test, s.metrics["mae"], s.metrics["rmse"],
                s.metrics["wape"], s.metrics["bias"], s.metrics["r2"],
            ]
            for s in scores
        ],
    )  # fmt: skip
    rows = predictions.select(
        pl.lit(run_id).alias("run_id"),
        pl.lit(model_id).alias("model_id"),
        "week_start",
        pl.col("y_true").cast(pl.Float64),
        pl.col("y_pred").cast(pl.Float64),
    )
    con.from_arrow(rows.to_arrow()).insert_into("ml.holdout_predictions")


def champion(con: duckdb.DuckDBPyConnection) -> ModelRecord | None:
    """The model in production, or None before the first training."""
    champion_id = _champion_id(con)
    return get_model(con, champion_id) if champion_id else None


def get_model(con: duckdb.DuckDBPyConnection, model_id: str) -> ModelRecord:
    """One registered model."""
    row = first_row(con, f"select {_MODEL_COLUMNS} from ml.models where model_id = ?", [model_id])
    if row is None:
        raise RegistryError(f"no model {model_id!r} in ml.models (hhcast models lists them)")
    return _record(row)


def decide(con: duckdb.DuckDBPyConnection, decision: Decision, run_id: str | None) -> str:
    """Apply and record a decision atomically; return its id.

    Refuses (ChampionChanged) when the champion is no longer `decision.from_model`, so a
    review that took hours cannot overwrite a promotion made meanwhile.
    """
    con.begin()
    try:
        decision_id = _apply(con, decision, run_id)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return decision_id


def _apply(con: duckdb.DuckDBPyConnection, decision: Decision, run_id: str | None) -> str:
    """Swap statuses and record the decision, inside the caller's transaction."""
    decision_id = uuid.uuid4().hex
    current = _champion_id(con)
    if current != decision.from_model:
        raise ChampionChanged(
            f"the champion is now {current}, not {decision.from_model} as when this "
            "decision was prepared; nothing changed. Train again to compare with it"
        )
    if decision.champion_after != current:
        if current is not None:
            _set_status(con, current, "retired")
        _set_status(con, decision.champion_after, "champion")
    con.execute(
        "insert into ml.promotions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            decision_id, datetime.now(UTC), run_id, decision.action, decision.from_model,
            decision.to_model, decision.champion_after, decision.policy,
            decision.decided_by, decision.note,
            json.dumps(decision.metrics) if decision.metrics is not None else None,
        ],
    )  # fmt: skip
    _check_one_champion(con, decision.champion_after)
    return decision_id


def rollback_decision(con: duckdb.DuckDBPyConnection, decided_by: str, note: str) -> Decision:
    """The decision that gives back the champion's predecessor (the model it replaced)."""
    current = _champion_id(con)
    if current is None:
        raise RegistryError("there is no champion yet: nothing to roll back")
    promoted = first_row(
        con,
        "select from_model from ml.promotions where action = 'promote' and to_model = ? "
        "order by decided_at desc limit 1",
        [current],
    )
    if promoted is None or promoted[0] is None:
        raise RegistryError(
            f"{current} became champion without replacing another model: there is no earlier "
            "champion to roll back to"
        )
    return Decision(
        action="rollback",
        from_model=current,
        to_model=promoted[0],
        champion_after=promoted[0],
        policy="rollback",
        decided_by=decided_by,
        note=note,
    )


def list_models(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The registry as a table, newest first, with each model's holdout error and coverage."""
    return con.sql(
        """
        select
            model_id,
            status,
            algorithm,
            dataset_version,
            holdout_start,
            holdout_end,
            round((metrics->>'$.mae')::double, 2) as holdout_mae,
            round((metrics->>'$.backtest_mae_mean')::double, 2) as backtest_mae,
            round((metrics->>'$.wape')::double, 4) as holdout_wape,
            -- share of the holdout weeks inside the 80 % and 95 % intervals (null: none)
            printf(
                '%.0f%% / %.0f%%',
                100 * (metrics->>'$.coverage_80')::double,
                100 * (metrics->>'$.coverage_95')::double
            ) as coverage_80_95,
            created_at
        from ml.models
        order by created_at desc, holdout_mae
        """
    ).pl()


def _champion_id(con: duckdb.DuckDBPyConnection) -> str | None:
    champion_ids = _champion_ids(con)
    if len(champion_ids) > 1:
        raise RegistryError(f"{len(champion_ids)} champions in ml.models: {champion_ids}")
    return champion_ids[0] if champion_ids else None


def _champion_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("select model_id from ml.models where status = 'champion'").fetchall()
    return sorted(model_id for (model_id,) in rows)


def _set_status(con: duckdb.DuckDBPyConnection, model_id: str, status: str) -> None:
    updated = con.execute(
        "update ml.models set status = ? where model_id = ? returning model_id",
        [status, model_id],
    ).fetchall()
    if not updated:
        raise RegistryError(f"no model {model_id!r} in ml.models")


def _check_one_champion(con: duckdb.DuckDBPyConnection, expected: str) -> None:
    champions = _champion_ids(con)
    if champions != [expected]:
        raise RegistryError(f"expected {expected} as the one champion, found {champions}")


def _record(row: tuple) -> ModelRecord:
    values = dict(zip(_MODEL_COLUMNS.split(", "), row, strict=True))
    values["features"] = json.loads(values["features"])
    values["metrics"] = json.loads(values["metrics"])
    for column in ("intervals", "level_shifts"):
        if values[column] is not None:
            values[column] = json.loads(values[column])
    return ModelRecord(**values)
