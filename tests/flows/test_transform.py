"""The transform flow: incremental builds equal full ones, failing data tests stop downstream."""

from __future__ import annotations

import json
from datetime import date

import pytest
from built_tables import contents
from raw_rows import RawWarehouse, event, flight

from flows.ingest import ingest
from flows.transform import transform
from hhcast.sample import generate
from warehouse.connection import connect

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_an_incremental_build_after_a_second_delivery_equals_a_full_rebuild(settings, tmp_path):
    sample = tmp_path / "sample"
    # No flight plans: ingestion has no flight_plan source yet and would reject them.
    generate(sample, preset="small", end=date(2021, 6, 20), plan_weeks=0)  # first, mid-month
    assert ingest(source=str(sample / "landing"), return_state=True).is_completed()
    first = transform(return_state=True).result()
    assert first.plan.mode == "full"

    generate(sample, preset="small", plan_weeks=0)  # June 2021 grows, a year of months arrives
    ingested = ingest(source=str(sample / "landing"), return_state=True).result()
    assert ingested.by_status["loaded"] > 2  # the grown June files and the new months
    second = transform(return_state=True).result()
    assert second.plan.mode == "incremental"
    assert second.plan.window.start <= date(2021, 6, 1)
    # the staging views' SQL is unchanged (the plan compared fingerprints): kept as they are
    staging = {r.name: r.mode for r in second.runs if r.name.startswith("staging.")}
    assert set(staging.values()) == {"unchanged"} and len(staging) == 2
    incremental = contents(settings)

    again = transform(return_state=True).result()
    assert again.plan.mode == "up_to_date"

    with connect(settings.warehouse) as con:  # someone drops a view: it comes back
        con.execute("drop view staging.stg_unscheduled_events")
    rebuilt = transform(return_state=True).result()
    assert (rebuilt.plan.mode, rebuilt.plan.reason) == (
        "full",
        "tables missing: staging.stg_unscheduled_events",
    )
    assert contents(settings) == incremental

    full = transform(full_refresh=True, return_state=True).result()
    assert full.plan.mode == "full"
    assert contents(settings) == incremental
    # Same rows, same files: the same dataset version, recorded once.
    assert full.version.version_id == second.version.version_id and not full.version.is_new


def test_a_failing_data_test_stops_the_models_downstream(settings):
    raw = RawWarehouse(settings)
    raw.add(
        events=[event(hh=2.0)],
        flights=[
            flight(hours=8.0, file="jan.csv"),
            flight(hours=7.5, file="jan-corrected.csv"),  # the same day, two different values
        ],
    )
    state = transform(return_state=True)
    assert state.is_failed()
    summary = state.result(raise_on_failure=False)
    assert "staging.stg_aircraft_utilization" in summary.failed[0]
    assert "intermediate.int_aircraft_daily" in summary.skipped
    assert "marts.features_weekly" in summary.skipped
    assert summary.version is None
    with connect(settings.warehouse, read_only=True) as con:
        results = con.execute(
            "select test_name, model, status, failing_rows, sample from meta.data_test_results"
        ).fetchall()
        marts = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts'"
        ).fetchone()[0]
    failed = [r for r in results if r[2] == "fail"]
    assert [(r[0], r[3]) for r in failed] == [("unique(dep_date, registration)", 1)]
    assert json.loads(failed[0][4])[0]["registration"] == "PR-GAA"
    skipped = {r[1] for r in results if r[2] == "skipped"}
    assert {"intermediate.int_aircraft_daily", "marts.features_weekly"} <= skipped
    assert marts == 0
