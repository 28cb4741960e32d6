"""The model families hhcast trains: fit on a training fold, predict weekly HH from features.

Every fitted preprocessing step (scalers, normalisation) lives inside the forecaster and is
fitted on the rows handed to `fit_candidate` only, so a fold's scaler never sees its test
weeks, and the saved artifact is the model and its preprocessing as one unit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from hhcast.config import CandidateSettings

# scikit-learn (with SciPy and pandas) is imported where a model is fitted, not here: every
# command that runs a flow imports this module, and would pay 1-5 s for it before its run
# even starts, whether it trains or not. Loading a fitted model imports it too (skops, in
# tasks/ml/artifacts.py), inside the run that needs it.

# TensorFlow's C++ logging (start-up chatter, spurious graph "errors") is noise in flow logs;
# real failures still raise Python exceptions. oneDNN's kernels reorder float sums, so leaving
# them off keeps a seed's results the same from one machine to the next.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


class Forecaster(Protocol):
    """Anything that turns weekly feature rows into HH forecasts."""

    algorithm: str
    features: list[str]

    def predict(self, weeks: pl.DataFrame) -> np.ndarray: ...


@dataclass(frozen=True)
class NaiveForecaster:
    """Last year's same week (a lag column), else a fallback column such as a rolling mean."""

    column: str
    fallback: str | None = None
    algorithm: str = "naive"

    @property
    def features(self) -> list[str]:
        return [c for c in (self.column, self.fallback) if c]

    def predict(self, weeks: pl.DataFrame) -> np.ndarray:
        guess = pl.col(self.column)
        if self.fallback:
            guess = pl.coalesce(guess, pl.col(self.fallback))
        return _require_values(weeks.select(guess.alias("y"))["y"], self.features)


@dataclass(frozen=True)
class SklearnForecaster:
    """A scikit-learn estimator (a pipeline with its scaler, where it needs one)."""

    estimator: Any
    features: list[str]
    algorithm: str

    def predict(self, weeks: pl.DataFrame) -> np.ndarray:
        with _one_thread():
            predicted = self.estimator.predict(_matrix(weeks, self.features))
        return np.asarray(predicted, dtype=float)


@dataclass(frozen=True)
class KerasForecaster:
    """A Keras network whose first layer normalises the inputs and last layer rescales HH."""

    network: Any
    features: list[str]
    algorithm: str = "mlp"

    def predict(self, weeks: pl.DataFrame) -> np.ndarray:
        x = _matrix(weeks, self.features).to_numpy().astype("float32")
        import keras

        # a direct call: `predict` builds a dataset pipeline, far slower for a few weeks
        output = keras.ops.convert_to_numpy(self.network(x, training=False))
        return output.reshape(-1).astype(float)


def fit_candidate(
    candidate: CandidateSettings,
    features: list[str],
    target: str,
    seed: int,
    train: pl.DataFrame,
) -> Forecaster:
    """Fit one candidate on the training weeks given, and nothing else."""
    params = dict(candidate.params)
    if candidate.algorithm == "naive":
        return NaiveForecaster(params["column"], params.get("fallback"))
    rows = train.drop_nulls([*features, target])
    x, y = _matrix(rows, features), rows[target].to_numpy().astype(float)
    if candidate.algorithm == "linear":
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        estimator = make_pipeline(StandardScaler(), Ridge(**params))
        return SklearnForecaster(estimator.fit(x, y), features, "linear")
    if candidate.algorithm == "tree":
        from sklearn.ensemble import HistGradientBoostingRegressor

        estimator = HistGradientBoostingRegressor(random_state=seed, early_stopping=False, **params)
        with _one_thread():
            estimator.fit(x, y)
        return SklearnForecaster(estimator, features, "tree")
    if candidate.algorithm == "mlp":
        return KerasForecaster(_fit_mlp(x.to_numpy(), y, seed, **params), features)
    raise ValueError(f"unknown algorithm {candidate.algorithm!r}")


def _fit_mlp(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    hidden_units: list[int],
    epochs: int,
    batch_size: int,
    learning_rate: float,
) -> Any:
    """Train Dense(relu) layers on standardised inputs and target; return one network.

    The target is standardised while training (so the optimiser sees values near 1) and the
    returned network ends with a Rescaling layer that turns its output back into hours.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    x = x.astype("float32")
    y_mean, y_scale = float(y.mean()), float(y.std() or 1.0)
    normalise = keras.layers.Normalization(name="normalise_features")
    normalise.adapt(x)
    inputs = keras.Input(shape=(x.shape[1],), name="features")
    hidden = normalise(inputs)
    # Each layer's initial weights from its own seed: a default initializer draws its seed
    # from Python's global `random`, which Prefect's threads in the same process also draw on.
    for layer, units in enumerate(hidden_units):
        hidden = keras.layers.Dense(
            units, activation="relu", kernel_initializer=_glorot(keras, seed, layer)
        )(hidden)
    scaled = keras.layers.Dense(
        1, name="hh_standardised", kernel_initializer=_glorot(keras, seed, len(hidden_units))
    )(hidden)
    training = keras.Model(inputs, scaled)
    # Every epoch's reshuffled batches in one stream, many batches per compiled call: at this
    # size Python's per-epoch and per-step overhead, not arithmetic, is the cost (4-5x faster
    # than fit(epochs=...), same number of updates on the same batch sizes).
    batches = (
        tf.data.Dataset.from_tensor_slices((x, ((y - y_mean) / y_scale).astype("float32")))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .repeat(epochs)
        .prefetch(2)
    )
    steps = epochs * -(-len(x) // batch_size)
    training.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="mse", steps_per_execution=256
    )
    training.fit(batches, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    hours = keras.layers.Rescaling(y_scale, offset=y_mean, name="hh")(scaled)
    return keras.Model(inputs, hours, name="hhcast_mlp")


def _glorot(keras: Any, seed: int, layer: int) -> Any:
    """Keras's default kernel initializer, seeded for one layer (an initializer instance must
    not be shared: each call of a seeded one would give the same weights)."""
    return keras.initializers.GlorotUniform(seed=seed * 1000 + layer)


def _one_thread():
    """OpenMP on one thread: a tree ensemble on a few hundred weeks gains nothing from more,
    and on a busy 2-core machine its spinning threads made a fit take seconds, not 0.2 s."""
    return threadpool_limits(limits=1, user_api="openmp")


def _matrix(weeks: pl.DataFrame, features: list[str]) -> pl.DataFrame:
    missing = [c for c in features if c not in weeks.columns]
    if missing:
        raise ValueError(
            f"the weekly table has no column {', '.join(missing)}; the model needs "
            f"{features}. Train a new model on the current features (hhcast train)"
        )
    frame = weeks.select(features).cast(pl.Float64)
    for column in features:
        _require_values(frame[column], [column])
    return frame


def _require_values(values: pl.Series, columns: list[str]) -> np.ndarray:
    if values.null_count():
        raise ValueError(
            f"{values.null_count()} weeks have no value for {' / '.join(columns)}; forecast "
            "only complete weeks with the history the model needs"
        )
    return values.to_numpy().astype(float)
