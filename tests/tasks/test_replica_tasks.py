"""The ingest and transform flows end by publishing the replica, and analysts querying it in
their own processes during a first (full) and a second (incremental) delivery never fail and
always read one committed state."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from flows.ingest import ingest
from flows.transform import transform
from hhcast.sample import generate
from warehouse.connection import connect
from warehouse.replica import read_stamp

pytestmark = pytest.mark.usefixtures("prefect_harness")

# What one committed state looks like from the replica: the raw events are the rows of the
# files recorded as loaded, and the weekly table has the weeks of the dataset version the
# replica's stamp names (once a transform has published one).
ANALYST = textwrap.dedent(
    """
    import json, pathlib, sys, time, duckdb
    replica, stop, report = sys.argv[1:4]
    stats = {"queries": 0, "failures": [], "inconsistent": [], "published_by": []}
    while not pathlib.Path(stop).exists():
        if not pathlib.Path(replica).exists():
            time.sleep(0.01)
            continue
        try:
            with duckdb.connect(replica, read_only=True) as con:
                events, loaded, by, version = con.execute(
                    "select (select count(*) from raw.unscheduled_events), "
                    "(select coalesce(sum(rows_loaded), 0) from meta.ingested_files "
                    " where source = 'unscheduled_events' and status = 'loaded'), "
                    "r.published_by, r.dataset_version from meta.replica r"
                ).fetchall()[0]
                weeks = expected = None
                if version is not None:
                    weeks, expected = con.execute(
                        "select (select count(*) from marts.features_weekly), weeks "
                        "from meta.dataset_versions where version_id = ?", [version]
                    ).fetchall()[0]
        except Exception as exc:
            stats["failures"].append(repr(exc)[:300])
            continue
        stats["queries"] += 1
        if events != loaded or weeks != expected:
            stats["inconsistent"].append([by, events, loaded, weeks, expected])
        if by not in stats["published_by"]:
            stats["published_by"].append(by)
    pathlib.Path(report).write_text(json.dumps(stats))
    """
)


def test_analysts_read_one_committed_state_while_deliveries_are_ingested_and_built(
    settings, tmp_path
):
    replica, stop = settings.warehouse.replica_path, tmp_path / "stop"
    reports = [tmp_path / f"analyst-{i}.json" for i in (1, 2)]
    analysts = [
        subprocess.Popen([sys.executable, "-c", ANALYST, str(replica), str(stop), str(report)])
        for report in reports
    ]
    sample = tmp_path / "sample"
    try:
        generate(sample, preset="small", end=date(2021, 6, 20))
        assert ingest(source=str(sample / "landing"), return_state=True).is_completed()
        first = transform(return_state=True).result()
        generate(sample, preset="small")
        assert ingest(source=str(sample / "landing"), return_state=True).is_completed()
        second = transform(return_state=True).result()
    finally:
        stop.touch()
        for analyst in analysts:
            analyst.wait(timeout=120)
    assert (first.plan.mode, second.plan.mode) == ("full", "incremental")
    for report in reports:
        stats = json.loads(report.read_text())
        assert stats["failures"] == [] and stats["inconsistent"] == []
        assert stats["queries"] > 0 and "transform" in stats["published_by"]

    with connect(replica, read_only=True) as copy, connect(settings.warehouse) as live:
        stamp = read_stamp(copy)
        assert (stamp.published_by, stamp.dataset_version) == (
            "transform",
            second.version.version_id,
        )
        for table in ("raw.unscheduled_events", "staging.stg_unscheduled_events",
                      "marts.features_weekly"):  # fmt: skip
            counted = f"select count(*) from {table}"
            assert copy.execute(counted).fetchall() == live.execute(counted).fetchall()


def test_an_ingest_run_publishes_the_replica_even_with_a_rejected_file(
    settings, paths: dict[str, Path], events_xlsx
):
    row = ["MECHANIC", "PR-GAA", "B737NG", "GRU", date(2019, 3, 7), 32, "GEAR", "1:30", "1:45"]
    events_xlsx(paths["landing"] / "good.xlsx", [row])
    (paths["landing"] / "broken.xlsx").write_bytes(b"not a workbook")
    assert ingest(return_state=True).is_failed()
    with connect(settings.warehouse.replica_path, read_only=True) as copy:
        assert read_stamp(copy).published_by == "ingest"
        statuses = copy.execute(
            "select status, count(*) from meta.ingested_files group by all order by all"
        ).fetchall()
        assert statuses == [("loaded", 1), ("rejected", 1)]
        assert copy.execute("select count(*) from raw.unscheduled_events").fetchall() == [(1,)]
