"""The ingest flow under Prefect's test harness: on a folder, on S3, and through the CLI."""

from __future__ import annotations

from datetime import date

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)

from flows.cli import main
from flows.ingest import ingest
from tasks.ingest import IngestSummary
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
    # What the UI shows: the run's name, and the progress of its files (3 prepared of 3).
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).name == "ingest-landing"
        (progress,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["ingest-progress"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
            )
        )
    assert (progress.flow_run_id, progress.type, float(progress.data)) == (
        run_id,
        "progress",
        100.0,
    )
    assert progress.description.startswith("**Files prepared**: 3 of 3")


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


@pytest.mark.slow  # a process of its own: Prefect's temporary API starts again (~30 s in all)
def test_no_file_in_landing_can_stop_the_run(env, paths, events_xlsx, utilization_csv, tmp_path):
    """One file of each kind that crashed `hhcast ingest`, beside good ones, through the CLI."""
    import io
    import os
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    from builders import LEGACY_HEADER, UTILIZATION_HEADER
    from workbooks import ods_bytes, xls_bytes

    landing = paths["landing"]
    events_xlsx(landing / "good.xlsx", [ROW])
    utilization_csv(landing / "good.csv", [UTIL])
    (landing / "legacy.xlsx").write_bytes(xls_bytes([LEGACY_HEADER, ROW]))
    (landing / "opendocument.xlsx").write_bytes(ods_bytes({"Events": [LEGACY_HEADER, ROW]}))
    whole = (landing / "good.xlsx").read_bytes()
    (landing / "truncated.xlsx").write_bytes(whole[: len(whole) // 2])
    no_workbook = io.BytesIO()
    with zipfile.ZipFile(no_workbook, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    (landing / "document.xlsx").write_bytes(no_workbook.getvalue())
    header = ",".join(UTILIZATION_HEADER)
    (landing / "mac.csv").write_bytes(f"{header}\r{','.join(UTIL)}\r".encode())
    (landing / "binary.csv").write_bytes(bytes(range(1, 256)) * 64)
    (landing / "quote.csv").write_bytes(f'{header}\n2019.03.07,"PR-GAA,B737NG\n'.encode())
    (landing / "gone.csv").symlink_to(tmp_path / "deleted.csv")

    hhcast = Path(sys.executable).parent / "hhcast"
    run_env = {
        **os.environ,
        **env,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    run_env.pop("PREFECT_API_URL", None)  # its own temporary API, not this session's harness
    done = subprocess.run(
        [str(hhcast), "ingest"], env=run_env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    # Loaded: both good files, the .xls and the .ods under .xlsx names, the CR-only CSV.
    assert "10 files (5 loaded, 4 rejected, 1 skipped)" in done.stdout
    for name, reason in {
        "truncated.xlsx": "not a readable Excel workbook (a damaged or truncated zip",
        "document.xlsx": "not a readable Excel workbook (a zip archive without a workbook",
        "binary.csv": "malformed CSV: it holds binary data",
        "quote.csv": 'malformed CSV: a quote (") opens a field on line 2 and is never closed',
        "gone.csv": "skipped, a symbolic link",
    }.items():
        assert f"-> {landing / name}: {reason}" in done.stdout, (name, done.stdout)
    assert rows_in(paths["warehouse"], "raw.unscheduled_events") == 3
    assert rows_in(paths["warehouse"], "raw.aircraft_utilization") == 2


def rows_in(warehouse, table: str) -> int:
    with connect(warehouse, read_only=True) as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
