"""Run names say what a run did, stay short, and hold only safe characters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from tasks.run_names import (
    MAX_PART,
    dated_name,
    forecast_name,
    ingest_name,
    notify_name,
    planned_transform_name,
    retrain_name,
    train_name,
    transform_name,
)

SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def test_train_names_the_version_and_the_policy_with_the_config_as_fallback():
    assert train_name({"dataset_version": None, "promotion": None}, "auto") == "train-latest-auto"
    assert train_name({}, "manual") == "train-latest-manual"
    named = train_name({"dataset_version": "0123abcd", "promotion": "never"}, "auto")
    assert named == "train-0123abcd-never"


def test_ingest_names_the_folder_it_reads():
    assert ingest_name({"source": None}) == "ingest-landing"
    assert ingest_name({"source": "/data/exports/2026-11/"}) == "ingest-2026-11"
    assert ingest_name({"source": "s3://hh-bucket/landing/batch 7"}) == "ingest-batch-7"


def test_transform_forecast_and_retrain_names():
    assert transform_name({"full_refresh": True}) == "transform-full"
    assert transform_name({"full_refresh": False}) == "transform-incremental"
    assert planned_transform_name("up_to_date") == "transform-up-to-date"
    assert forecast_name({"what_if": None, "what_if_plan": None}) == "forecast"
    assert forecast_name({"what_if_plan": "plan.xlsx"}) == "forecast-what-if"
    assert retrain_name({"files": ["a.xlsx", "b.csv", "c.csv"]}) == "retrain-3-files"
    assert retrain_name({"files": ["a.xlsx"]}) == "retrain-1-file"


def test_dated_names_use_the_utc_day_of_the_scheduled_start():
    late = datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert dated_name("pipeline", late) == "pipeline-2026-03-02"
    assert dated_name("monitor", None) == f"monitor-{datetime.now(UTC):%Y-%m-%d}"


def test_notify_names_the_event():
    assert notify_name({"event": "prefect.flow-run.Paused"}) == "notify-paused"
    assert notify_name({"event": "hhcast.forecast.degraded"}) == "notify-degraded"


def test_long_or_odd_parameters_give_short_safe_names():
    name = train_name({"dataset_version": "v/" + "x" * 200, "promotion": "auto"}, "auto")
    assert SAFE.match(name)
    assert len(name) <= len("train--auto") + MAX_PART
    assert SAFE.match(ingest_name({"source": "C:\\exports\\Nov 2026 (final)"}))
