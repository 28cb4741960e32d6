"""The transform flow: incremental builds equal full ones, failing data tests stop downstream."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from built_tables import contents
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from raw_rows import RawWarehouse, event, flight

from flows.ingest import ingest
from flows.transform import transform
from hhcast.sample import generate
from warehouse.connection import connect

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_an_incremental_build_after_a_second_delivery_equals_a_full_rebuild(settings, tmp_path):
    sample = tmp_path / "sample"
    generate(sample, preset="small", end=date(2021, 6, 20))  # first, mid-month
    assert ingest(source=str(sample / "landing"), return_state=True).is_completed()
    first = transform(return_state=True).result()
    assert first.plan.mode == "full"

    generate(sample, preset="small")  # June 2021 grows, a year of months arrives
    ingested = ingest(source=str(sample / "landing"), return_state=True).result()
    assert ingested.by_status["loaded"] > 2  # the grown June files and the new months
    second = transform(return_state=True).result()
    assert second.plan.mode == "incremental"
    assert second.plan.window.start <= date(2021, 6, 1)
    # the staging views' SQL is unchanged (the plan compared fingerprints): kept as they are
    staging = {r.name: r.mode for r in second.runs if r.name.startswith("staging.")}
    assert set(staging.values()) == {"unchanged"} and len(staging) == 4
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
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:  # what the UI shows: the name, the verdict
        name = client.read_flow_run(run_id).name
        (card,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    assert name == "transform-full"  # not asked for, but the first build is full: so named
    assert card.description.startswith("**Transform FAILED**: ")
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


def test_the_sample_flight_plans_load_and_the_plan_mart_holds_the_newest_issue(settings, tmp_path):
    sample = tmp_path / "sample"
    report = generate(sample, preset="small", start=date(2022, 3, 1))  # 8 weekly issues
    ingested = ingest(source=str(sample / "landing"), return_state=True)
    assert ingested.is_completed(), ingested.message
    outcomes = ingested.result().outcomes
    assert {o.status for o in outcomes} == {"loaded"} and len(outcomes) == report.files
    plans = {o.uri.rsplit("/", 1)[1] for o in outcomes if o.source == "flight_plan"}
    assert plans == {p.name for p in (sample / "landing" / "flight_plan").iterdir()}
    assert sum(o.rows_loaded for o in outcomes if o.source == "flight_plan") == report.plan_rows
    built = transform(return_state=True)
    assert built.is_completed(), built.message

    truth = pl.read_csv(sample / "truth" / "plan_expected_hh.csv", try_parse_dates=True)
    newest = truth.filter(pl.col("plan_issued_at") == pl.col("plan_issued_at").max())
    expected = newest.select(
        "week_start", "horizon_weeks", "plan_issued_at", "acft", "sum_daily_hours", "cycles"
    ).rows()
    with connect(settings.warehouse, read_only=True) as con:
        planned = con.execute(
            "select week_start, horizon_weeks, plan_issued_at, acft, round(sum_daily_hours, 6), "
            "cycles from marts.features_weekly_plan order by week_start"
        ).fetchall()
        issues = con.execute("select count(distinct source_file) from raw.flight_plan").fetchone()
    assert planned == expected  # every week of the newest issue, horizon 1 to 8
    assert issues == (report.plan_issues,)  # the older issues stay
