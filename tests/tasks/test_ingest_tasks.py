"""The ingest summary's table, as the Prefect UI shows it."""

from __future__ import annotations

from tasks.ingest import IngestSummary
from tasks.raw.load import FileOutcome


def _outcome(uri: str, status: str = "loaded") -> FileOutcome:
    return FileOutcome(uri=uri, sha256="0" * 64, bytes=10, status=status, rows_read=3)


def test_the_table_shows_file_names_and_folders_relative_to_landing():
    landing = "/srv/hhcast/data/landing"
    summary = IngestSummary(
        [
            _outcome(f"{landing}/events_2026-11.xlsx"),
            _outcome(f"{landing}/utilization/2026/util_11.csv", "rejected"),
            _outcome(f"{landing}/old.csv", "unchanged"),
        ],
        landing,
    )
    table = summary.table()
    assert [(r["file"], r["folder"]) for r in table] == [
        ("events_2026-11.xlsx", "."),
        ("util_11.csv", "utilization/2026"),
    ]
    assert all(landing not in str(value) for row in table for value in row.values())
    assert "utilization/2026/util_11.csv" in summary.render()


def test_s3_files_and_an_unknown_landing_show_the_parent_folder():
    s3 = IngestSummary([_outcome("s3://hh/landing/plans/p.xlsx")], "s3://hh/landing")
    assert s3.table()[0]["folder"] == "plans"
    unknown = IngestSummary([_outcome("/elsewhere/exports/e.xlsx")])
    assert (unknown.table()[0]["file"], unknown.table()[0]["folder"]) == ("e.xlsx", "exports")
