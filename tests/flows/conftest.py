"""Generated samples, ingested and transformed once per session by the real flows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.ingest import ingest
from flows.transform import transform
from hhcast.config import Settings, load_settings
from hhcast.sample import generate
from tasks.ingest import IngestSummary
from tasks.transform import BuildSummary


@dataclass(frozen=True)
class BuiltSample:
    out: Path
    settings: Settings
    ingested: IngestSummary
    built: BuildSummary


def _build_sample(tmp_path_factory, preset: str) -> BuiltSample:
    """A generated sample (seed 7), ingested and transformed by the real flows."""
    out = tmp_path_factory.mktemp(preset)
    generate(out, preset=preset, seed=7)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HHCAST_LANDING", str(out / "landing"))
        env.setenv("HHCAST_LAKE", str(out / "lake"))
        env.setenv("HHCAST_WAREHOUSE", str(out / "warehouse" / "hhcast.duckdb"))
        settings = load_settings()
        ingested = ingest(return_state=True).result()
        built = transform(return_state=True).result()
    return BuiltSample(out, settings, ingested, built)


@pytest.fixture(scope="session")
def medium(tmp_path_factory, prefect_harness) -> BuiltSample:
    """The `medium` sample (10 years, 60 aircraft), once per session."""
    return _build_sample(tmp_path_factory, "medium")


@pytest.fixture(scope="session")
def small_built(tmp_path_factory, prefect_harness) -> BuiltSample:
    """The `small` sample (3 years, 20 aircraft), once per session."""
    return _build_sample(tmp_path_factory, "small")


@pytest.fixture
def trainable(small_built: BuiltSample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private copy of the small warehouse to train on, with a fresh registry and lake.

    The MLP trains for a few epochs only: these tests check the loop, not the model.
    """
    import shutil

    warehouse = tmp_path / "warehouse" / "hhcast.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(small_built.settings.warehouse, warehouse)
    for name, value in {
        "HHCAST_LANDING": str(small_built.out / "landing"),
        "HHCAST_LAKE": str(tmp_path / "lake"),
        "HHCAST_WAREHOUSE": str(warehouse),
        "HHCAST_TRAINING__CANDIDATES__MLP__PARAMS__EPOCHS": "2",
        "HHCAST_PROMOTION__MANUAL_POLL_SECONDS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    return load_settings()
