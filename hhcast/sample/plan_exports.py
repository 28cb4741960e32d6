"""Write each flight-plan issue as the CSV the airline's scheduling system exports.

One file per issue, named by its issue date (`flight_plan_issued_2025-12-29.csv`): the date
the plan was made, which is also the first `Dep. Date` in the file (an issue plans from the
Monday it is dated). A file's bytes depend on its issue alone, so the next weekly delivery
rewrites the issues it shares with this one byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hhcast.sample.catalog import PLAN_REMARKS
from hhcast.sample.exports import CRLF_SHARE, LATIN1_SHARE, ExportedFile
from hhcast.sample.plans import PlanIssue
from hhcast.sample.utilization_csv import utilization_rows, write_utilization_csv

PLAN_DIR = "landing/flight_plan"
PLAN_HEADER = ("Dep. Date", "A/C", "AC-Type", "# per Day", "Hours", "Cycles", "Remarks")
FILE_STREAM, ROW_STREAM = 70, 71


def plan_file_name(issue: PlanIssue) -> str:
    """The file an issue is delivered as; ingestion reads the issue date back from it."""
    return f"flight_plan_issued_{issue.issued_at:%Y-%m-%d}.csv"


def write_flight_plans(issues: list[PlanIssue], out: Path, seed: int) -> list[ExportedFile]:
    """One CSV per issue under landing/flight_plan/, every type's planned days in it."""
    folder = out / PLAN_DIR
    if issues:  # no plans, no folder: the delivery then looks as it did before plans existed
        folder.mkdir(parents=True, exist_ok=True)
    written = []
    for issue in issues:
        key = issue.issued_at.toordinal()
        rows = utilization_rows(issue.planned, seed, stream=(ROW_STREAM, key)).with_columns(
            flaw_field=pl.lit(None, pl.String), flaw_value=pl.lit(None, pl.String)
        )
        draws = np.random.default_rng([seed, FILE_STREAM, key]).random(2)
        encoding = "latin-1" if draws[0] < LATIN1_SHARE else "utf-8"
        newline = "\r\n" if draws[1] < CRLF_SHARE else "\n"
        name = plan_file_name(issue)
        data_rows, bad_rows = write_utilization_csv(
            folder / name, rows, encoding, newline, header=PLAN_HEADER, remarks=PLAN_REMARKS
        )
        written.append(
            ExportedFile(
                path=f"{PLAN_DIR}/{name}",
                source="flight_plan",
                data_rows=data_rows,
                bad_rows=bad_rows,
                first_date=rows["dep_date"].min(),
                last_date=rows["dep_date"].max(),
                details={
                    "issued_at": issue.issued_at.isoformat(),
                    "weeks": issue.weeks,
                    "encoding": encoding,
                    "newline": "CRLF" if newline == "\r\n" else "LF",
                },
            )
        )
    return written
