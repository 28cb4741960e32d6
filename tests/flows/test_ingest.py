"""The ingest flow under Prefect's test harness: on a folder, on S3, and through the CLI."""

from __future__ import annotations

from datetime import date

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.ingest import ingest
from hhcast.cli import main
from tasks.summary import IngestSummary
from warehouse.connection import connect

ROW = ["MECHANIC", "PR-GAA", "B737NG", "GRU", date(2019, 3, 7), 32, "GEAR", "1:30", "1:45"]
UTIL = ["2019.03.07", "PR-GAA", "B737NG", "4", "7:30", "4", "23456:40", "12'345"]

pytestmark = pytest.mark.usefixtures("prefect_harness")


def rows(settings, table: str) -> int:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]


def test_bad_files_fail_the_run_while_good_files_load(
    settings, paths, events_xlsx, utilization_csv
):
    events_xlsx(paths["landing"] / "e.xlsx", [ROW, ROW[:7] + ["1:00", "n/a"], ROW])
    utilization_csv(paths["landing"] / "u.csv", [UTIL, UTIL], encoding="latin-1")
    (paths["landing"] / "broken.xlsx").write_bytes(b"PK\x03\x04 truncated")
    state = ingest(return_state=True)
    assert state.is_failed()
    summary = state.result(raise_on_failure=False)
    assert isinstance(summary, IngestSummary)
    assert summary.by_status == {"loaded": 2, "rejected": 1}
    (rejected,) = summary.rejected
    assert "broken.xlsx" in rejected.error and "re-export" in rejected.error
    assert (summary.rows_loaded, summary.rows_quarantined) == (4, 1)
    assert rows(settings, "raw.unscheduled_events") == 2
    assert rows(settings, "raw.aircraft_utilization") == 2
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-summary"]))
        )
    assert any(a.flow_run_id == state.state_details.flow_run_id for a in artifacts)


def test_rerun_completes_and_loads_nothing(settings, paths, events_xlsx):
    events_xlsx(paths["landing"] / "e.xlsx", [ROW])
    assert ingest(return_state=True).is_completed()
    state = ingest(return_state=True)
    assert state.is_completed()
    assert state.result().by_status == {"unchanged": 1}
    assert rows(settings, "raw.unscheduled_events") == 1


def test_landing_and_lake_on_s3(settings, s3_env, events_xlsx, utilization_csv, tmp_path):
    fs, bucket = s3_env
    workbook = events_xlsx(tmp_path / "out" / "e.xlsx", [ROW, ROW])
    csv_file = utilization_csv(tmp_path / "out" / "u.csv", [UTIL])
    fs.put_file(str(workbook), f"{bucket}/landing/events/e.xlsx")
    fs.put_file(str(csv_file), f"{bucket}/landing/util/u.csv")
    state = ingest(source=f"s3://{bucket}/landing", return_state=True)
    summary = state.result()
    assert summary.by_status == {"loaded": 2}
    by_uri = {o.uri: o for o in summary.outcomes}
    assert set(by_uri) == {
        f"s3://{bucket}/landing/events/e.xlsx",
        f"s3://{bucket}/landing/util/u.csv",
    }
    assert rows(settings, "raw.unscheduled_events") == 2
    assert rows(settings, "raw.aircraft_utilization") == 1
    # The lake is local here (HHCAST_LAKE); its archive holds the bytes that were in the bucket.
    archived = by_uri[f"s3://{bucket}/landing/events/e.xlsx"].archive_uri
    with open(archived, "rb") as copy:
        assert copy.read() == workbook.read_bytes()
    # S3 gives other bytes another ETag: a re-upload of the same size is read and loaded.
    utilization_csv(csv_file, [UTIL[:4] + ["8:30"] + UTIL[5:]])
    fs.put_file(str(csv_file), f"{bucket}/landing/util/u.csv")
    again = ingest(source=f"s3://{bucket}/landing", return_state=True).result()
    assert again.by_status == {"unchanged": 1, "loaded": 1}
    with connect(settings.warehouse, read_only=True) as con:
        hours = con.execute("select list(block_hours) from raw.aircraft_utilization").fetchone()
        unmarked = con.execute("select count(*) from meta.ingested_files where modified is null")
        assert unmarked.fetchone() == (0,)  # so unchanged objects are not even fetched
    assert hours == ([8.5],)


def test_lake_on_s3_archives_there(settings, s3_env, paths, events_xlsx, monkeypatch):
    fs, bucket = s3_env
    monkeypatch.setenv("HHCAST_LAKE", f"s3://{bucket}/lake")
    workbook = events_xlsx(paths["landing"] / "e.xlsx", [ROW])
    summary = ingest(return_state=True).result()
    (outcome,) = summary.outcomes
    assert (
        outcome.archive_uri
        == f"s3://{bucket}/lake/archive/{outcome.sha256[:2]}/{outcome.sha256}/e.xlsx"
    )
    assert fs.cat_file(outcome.archive_uri) == workbook.read_bytes()
    assert ingest(return_state=True).result().by_status == {"unchanged": 1}


def test_cli_prints_the_summary_and_exits_non_zero_on_rejected_files(
    env, paths, events_xlsx, capsys
):
    events_xlsx(paths["landing"] / "e.xlsx", [ROW])
    (paths["landing"] / "empty.xlsx").write_bytes(b"")
    assert main(["ingest"]) == 1
    out = capsys.readouterr().out
    assert "2 files (1 loaded, 1 rejected)" in out
    assert "empty.xlsx: the file is empty" in out
    (paths["landing"] / "empty.xlsx").unlink()
    assert main(["ingest"]) == 0
