"""The generated `medium` sample, ingested and transformed once per session by the real flows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.ingest import ingest
from flows.transform import transform
from hhcast.config import Settings, load_settings
from hhcast.sample import generate
from tasks.summary import IngestSummary
from tasks.transform import BuildSummary


@dataclass(frozen=True)
class Medium:
    out: Path
    settings: Settings
    ingested: IngestSummary
    built: BuildSummary


@pytest.fixture(scope="session")
def medium(tmp_path_factory, prefect_harness) -> Medium:
    out = tmp_path_factory.mktemp("medium")
    generate(out, preset="medium", seed=7)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HHCAST_LANDING", str(out / "landing"))
        env.setenv("HHCAST_LAKE", str(out / "lake"))
        env.setenv("HHCAST_WAREHOUSE", str(out / "warehouse" / "hhcast.duckdb"))
        settings = load_settings()
        ingested = ingest(return_state=True).result()
        built = transform(return_state=True).result()
    return Medium(out, settings, ingested, built)
