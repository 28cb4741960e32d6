"""Artifacts round-trip through the lake, local and S3, and anything not as stored is refused."""

from __future__ import annotations

import pickle

import keras
import numpy as np
import pytest
import skops.io
from test_training import CONFIG
from weekly_rows import weekly_features

from tasks.ml import artifacts
from tasks.ml.artifacts import ArtifactRefused
from tasks.ml.dataset import time_split
from tasks.ml.training import train_candidate
from warehouse.lake import filesystem, sha256


@pytest.fixture(scope="module")
def trained():
    split = time_split(weekly_features(160), CONFIG)
    return split, {
        name: train_candidate(name, candidate, split, CONFIG)
        for name, candidate in CONFIG.candidates.items()
    }


def round_trip(trained, settings):
    """Both fits of every algorithm, stored and loaded back, forecast exactly as before."""
    split, models = trained
    for name, model in models.items():
        uri, digest = artifacts.store(model.forecaster, settings)
        assert f"/models/{digest[:2]}/{digest}/model." in uri
        loaded = artifacts.fetch(uri, digest, model.algorithm, model.features, settings)
        np.testing.assert_array_equal(
            loaded.predict(split.holdout.test), model.predictions["y_pred"].to_numpy(), err_msg=name
        )
        production, weeks = model.production.forecaster, split.production.drop_nulls(model.features)
        uri, digest = artifacts.store(production, settings)
        loaded = artifacts.fetch(uri, digest, model.algorithm, model.features, settings)
        np.testing.assert_array_equal(
            loaded.predict(weeks), production.predict(weeks), err_msg=name
        )
    return uri


def test_the_two_fits_are_two_artifacts_except_the_baseline_which_learns_nothing(trained, settings):
    _, models = trained
    for name, model in models.items():
        scored = artifacts.store(model.forecaster, settings)
        production = artifacts.store(model.production.forecaster, settings)
        assert (scored == production) is (name == "naive"), name


def test_every_algorithm_round_trips_through_a_local_lake(trained, settings):
    uri = round_trip(trained, settings)
    assert uri.startswith(str(settings.lake))


@pytest.mark.slow
def test_every_algorithm_round_trips_through_s3(trained, s3_env, settings):
    fs, bucket = s3_env
    on_s3 = settings.with_overrides(lake=f"s3://{bucket}/lake")
    uri = round_trip(trained, on_s3)
    assert uri.startswith(f"s3://{bucket}/lake/models/")
    assert fs.exists(uri)


def test_a_changed_artifact_is_refused(trained, settings):
    _, models = trained
    model = models["ridge"]
    uri, digest = artifacts.store(model.forecaster, settings)
    fs, path = filesystem(uri, settings)
    content = bytearray(fs.cat_file(path))
    content[-40] ^= 0xFF
    fs.pipe_file(path, bytes(content))
    with pytest.raises(ArtifactRefused, match="differs from the registry"):
        artifacts.fetch(uri, digest, "linear", model.features, settings)


def _plant(settings, content: bytes, name: str) -> tuple[str, str]:
    """Put a file in the lake as if it had been registered with its true hash."""
    fs, root = filesystem(settings.lake, settings)
    path = f"{root}/models/planted/{name}"
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(path, content)
    return path, sha256(content)


class Boom:
    def __reduce__(self):
        return (print, ("this ran while loading",))


def test_a_pickle_is_never_loaded_whatever_its_name(trained, settings, capsys):
    _, models = trained
    payload = pickle.dumps(models["ridge"].forecaster.estimator) + pickle.dumps(Boom())
    for name, algorithm in [("model.pkl", "linear"), ("model.skops", "linear")]:
        uri, digest = _plant(settings, payload, name)
        with pytest.raises(ArtifactRefused):
            artifacts.fetch(uri, digest, algorithm, ["acft"], settings)
    assert "this ran while loading" not in capsys.readouterr().out


def test_a_skops_file_with_an_unexpected_type_is_refused(settings):
    from sklearn.pipeline import FunctionTransformer, make_pipeline

    sneaky = make_pipeline(FunctionTransformer(eval))  # would hand input to eval() on predict
    uri, digest = _plant(settings, skops.io.dumps(sneaky), "model.skops")
    with pytest.raises(ArtifactRefused, match="does not trust"):
        artifacts.fetch(uri, digest, "linear", ["acft"], settings)


def test_a_keras_file_with_embedded_code_is_refused(tmp_path, settings):
    inputs = keras.Input((1,))
    network = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    network.save(tmp_path / "m.keras")
    uri, digest = _plant(settings, (tmp_path / "m.keras").read_bytes(), "model.keras")
    with pytest.raises(ArtifactRefused, match="refused to load it safely"):
        artifacts.fetch(uri, digest, "mlp", ["acft"], settings)


def test_an_artifact_of_the_wrong_kind_for_its_algorithm_is_refused(trained, settings):
    _, models = trained
    uri, digest = artifacts.store(models["naive"].forecaster, settings)
    with pytest.raises(ArtifactRefused, match="not a linear artifact"):
        artifacts.fetch(uri, digest, "linear", ["acft"], settings)
