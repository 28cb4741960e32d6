"""On the generated `medium` sample, every data row of every file is loaded or quarantined."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from flows.ingest import ingest
from hhcast.sample import generate
from warehouse.connection import connect

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="session")
def medium_sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("medium")
    generate(out, preset="medium", seed=7)
    return out


def test_rows_loaded_plus_rows_quarantined_equal_the_rows_in_each_file(medium_sample, settings):
    manifest = json.loads((medium_sample / "truth" / "manifest.json").read_text())
    summary = ingest(source=str(medium_sample / "landing"), return_state=True).result()
    assert summary.by_status == {"loaded": len(manifest["files"])}

    with connect(settings.warehouse, read_only=True) as con:
        loaded = dict(
            con.execute(
                """
                select source_file, count(*) from raw.unscheduled_events group by all
                union all
                select source_file, count(*) from raw.aircraft_utilization group by all
                """
            ).fetchall()
        )
        quarantined = con.execute(
            "select source_file, source_row, column_name from meta.quarantine"
        ).fetchall()
    held_rows = Counter(f for f, _ in {(f, r) for f, r, _ in quarantined})
    landing = (medium_sample / "landing").resolve()
    for entry in manifest["files"]:
        uri = str(landing / Path(entry["path"]).relative_to("landing"))
        assert loaded.get(uri, 0) + held_rows.get(uri, 0) == entry["data_rows"], uri

    # The deliberately broken cells are exactly the quarantined ones: same file, row, column.
    headers = {
        header: canonical
        for source in settings.sources.values()
        for layout in source.layouts.values()
        for canonical, header in layout.items()
    }
    expected = {
        (str(landing / Path(e["path"]).relative_to("landing")), bad["row"], headers[bad["column"]])
        for e in manifest["files"]
        for bad in e["bad_rows"]
    }
    assert expected, "the medium sample should carry deliberately broken rows"
    assert set(quarantined) == expected
