"""Model artifacts in the lake: content-addressed, and in formats that cannot run code on load.

scikit-learn models are saved with skops (no pickle) and loaded only if every type in the
file is on an allowlist; Keras networks as `.keras` loaded in safe mode (no embedded Python);
the naive baseline as JSON. Before anything is parsed, the bytes must hash to the sha256 the
registry recorded, so a file changed after training is refused, never loaded.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hhcast.config import Settings
from tasks.ml.candidates import Forecaster, KerasForecaster, NaiveForecaster, SklearnForecaster
from tasks.ml.errors import ArtifactRefused
from warehouse.lake import filesystem, sha256, uri_for

MODELS_DIR = "models"
NAIVE_FORMAT = "hhcast-naive/1"
# Types a skops file of ours may hold beyond skops' default trusted set (numpy, sklearn's
# estimators): the fitted trees inside a HistGradientBoostingRegressor.
TRUSTED_SKOPS_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


@dataclass(frozen=True)
class StoredModel:
    """Where one registered model's two fits are in the lake, each as (URI, sha256)."""

    scored: tuple[str, str]  # fitted before the holdout: what comparisons re-score
    production: tuple[str, str]  # fitted on every complete week: what forecasts


def serialise(forecaster: Forecaster) -> tuple[bytes, str]:
    """The forecaster as file bytes, and the file extension that says how to read them."""
    if isinstance(forecaster, NaiveForecaster):
        spec = {
            "format": NAIVE_FORMAT,
            "column": forecaster.column,
            "fallback": forecaster.fallback,
        }
        return json.dumps(spec, sort_keys=True).encode(), "json"
    if isinstance(forecaster, SklearnForecaster):
        import skops.io

        return skops.io.dumps(forecaster.estimator), "skops"
    if isinstance(forecaster, KerasForecaster):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            forecaster.network.save(path)
            return path.read_bytes(), "keras"
    raise TypeError(f"no artifact format for {type(forecaster).__name__}")


def store(forecaster: Forecaster, settings: Settings) -> tuple[str, str]:
    """Write the artifact under its content address in the lake; return its URI and sha256."""
    content, extension = serialise(forecaster)
    digest = sha256(content)
    fs, root = filesystem(settings.lake, settings)
    path = f"{root}/{MODELS_DIR}/{digest[:2]}/{digest}/model.{extension}"
    # Same address, same bytes: written once. A file there with other bytes is replaced.
    if not fs.exists(path) or sha256(fs.cat_file(path)) != digest:
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(path, content)
    return uri_for(settings.lake, path), digest


def fetch(
    uri: str, expected_sha256: str, algorithm: str, features: list[str], settings: Settings
) -> Forecaster:
    """Read an artifact back from the lake, refusing it unless it is exactly what was stored."""
    fs, path = filesystem(uri, settings)
    content = fs.cat_file(path)
    if sha256(content) != expected_sha256:
        raise ArtifactRefused(
            f"{uri}: content hash {sha256(content)[:12]}… differs from the registry's "
            f"{expected_sha256[:12]}…; the file changed after training. Restore it from a "
            "backup, or retrain (hhcast train) and promote the new model"
        )
    extension = PurePosixPath(path).suffix.lstrip(".")
    if extension == "json" and algorithm == "naive":
        return _naive(content, uri)
    if extension == "skops" and algorithm in {"linear", "tree"}:
        return SklearnForecaster(_skops(content, uri), features, algorithm)
    if extension == "keras" and algorithm == "mlp":
        return KerasForecaster(_keras(content, uri), features)
    raise ArtifactRefused(
        f"{uri}: a .{extension} file is not a {algorithm} artifact hhcast can load safely "
        "(only .json naive baselines, .skops scikit-learn models and .keras networks; pickles "
        "are never loaded)"
    )


def _naive(content: bytes, uri: str) -> NaiveForecaster:
    spec = json.loads(content)
    if spec.get("format") != NAIVE_FORMAT:
        raise ArtifactRefused(f"{uri}: not a {NAIVE_FORMAT} baseline")
    return NaiveForecaster(spec["column"], spec.get("fallback"))


def _skops(content: bytes, uri: str):
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(data=content)
    except Exception as exc:  # not a skops zip: a pickle renamed, a truncated file
        raise ArtifactRefused(f"{uri}: not a readable skops file ({exc})") from exc
    unexpected = sorted(set(untrusted) - set(TRUSTED_SKOPS_TYPES))
    if unexpected:
        raise ArtifactRefused(
            f"{uri}: holds types hhcast does not trust ({', '.join(unexpected)}); refusing to "
            "load it"
        )
    return skops.io.loads(content, trusted=untrusted)


def _keras(content: bytes, uri: str):
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(content)
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # safe mode refuses Lambda layers and other embedded code
            raise ArtifactRefused(f"{uri}: Keras refused to load it safely ({exc})") from exc
