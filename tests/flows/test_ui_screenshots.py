"""The Prefect UI as a person sees it, in a real browser: docs/screenshots.py serves hhcast with
`hhcast stack`, runs `hhcast run` and a manual review through it, and takes each page; every
page shows what the README says it does, and the answer given in the review form reaches the
registry."""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

import pytest
from prefect_server import ROOT

from warehouse.connection import connect

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None,
        reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium) and the "
        "playwright package (the dev extra)",
    ),
]


def screenshots():
    """docs/screenshots.py, a script rather than a package module."""
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "docs" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG, from its header."""
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_the_ui_pages_show_runs_artifacts_forms_and_automations(tmp_path):
    shots = screenshots()
    out = tmp_path / "img"
    pages = shots.capture(out, tmp_path)  # raises if the stack leaves a process behind

    assert set(pages) == {shot.name for shot in shots.SHOTS}
    for name in pages:
        width, height = png_size(out / f"ui-{name}.png")
        assert width == shots.WIDTH and height >= shots.HEIGHT, name
    # The pipeline run's own page sums it up: its summary artifact, a row per step's run.
    assert "pipeline-summary" in pages["pipeline-run"]
    assert "Pipeline ok: " in pages["pipeline-run"]
    summary = pages["pipeline-summary"]
    for step in ("ingest", "transform", "monitor", "train", "champion", "forecast", "report"):
        assert f"\n{step}\t" in summary or f"\n{step}\n" in summary, step
    assert "ingest-landing" in summary and "train-latest-never" in summary
    # Run names say what each run did.
    assert "train-latest-never" in pages["runs"] and "-manual" in pages["runs"]
    assert "ingest-landing" in pages["runs"] and "transform-full" in pages["runs"]
    # Artifact cards state their verdicts.
    assert "auto would promote: MAE" in pages["artifacts"]
    assert "Transform ok" in pages["artifacts"] and "review waiting: train-" in pages["artifacts"]
    assert "Candidates trained: 2 of 2" in pages["train-artifacts"]
    # The run form and the review form carry their help texts; the reviewer is required.
    assert "How the challenger may become champion" in pages["run-form"]
    assert "Tick to make the challenger champion" in pages["review"]
    assert "Your name (required)" in pages["review"]
    assert "Reviewer (Optional)" not in pages["review"]
    assert "hhcast: review waiting" in pages["automations"]
    assert "hhcast: champion degraded" in pages["automations"]
    assert "Forecast vs actual" in pages["forecast-report"]

    with connect(tmp_path / "warehouse" / "hhcast.duckdb", read_only=True) as con:
        decided = con.execute(
            "select action, policy, decided_by from ml.promotions order by decided_at"
        ).fetchall()
    assert decided[-1] == ("promote", "manual", shots.REVIEWER)
