"""What each chart draws: the forecast chosen per week, drift ratios, champion spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from report_tables import (
    ACTUAL_WEEKS,
    COMING_WEEK,
    KNOWN_WEEK,
    LAST_ACTUAL,
    T0,
    crafted_decisions,
    crafted_drift,
    crafted_metrics,
)

from tasks.reports import series


def test_past_weeks_get_the_forecast_made_at_the_chosen_horizon_and_never_a_what_if(tables):
    weeks = series.forecast_weeks(tables.actuals, tables.predictions, horizon=1)
    known = weeks.filter(pl.col("week_start") == KNOWN_WEEK).row(0, named=True)
    assert (known["hh_pred"], known["horizon_weeks"], known["period"]) == (503.0, 1, "past")
    assert known["hh_actual"] == 430.0
    assert weeks.filter(pl.col("period") == "past").height == ACTUAL_WEEKS
    assert "what-if" not in weeks["plan_file"].to_list()

    two_ahead = series.forecast_weeks(tables.actuals, tables.predictions, horizon=2)
    known = two_ahead.filter(pl.col("week_start") == KNOWN_WEEK).row(0, named=True)
    assert (known["hh_pred"], known["hh_lower_80"], known["hh_upper_95"]) == (303.0, 293.0, 323.0)


def test_without_a_horizon_each_past_week_shows_its_latest_forecast_not_the_what_if(tables):
    weeks = series.forecast_weeks(tables.actuals, tables.predictions, horizon=None)
    known = weeks.filter(pl.col("week_start") == KNOWN_WEEK).row(0, named=True)
    assert known["hh_pred"] == 503.0  # the what-if (9,999) was made later still


def test_a_coming_week_shows_its_latest_forecast_whatever_the_horizon(tables):
    weeks = series.forecast_weeks(tables.actuals, tables.predictions, horizon=1)
    coming = weeks.filter(pl.col("period") == "coming")
    assert coming["week_start"].to_list() == [COMING_WEEK]
    assert coming["hh_pred"].to_list() == [800.0]
    assert coming["hh_actual"].to_list() == [None]


def test_without_actuals_every_forecast_is_a_coming_one(tables):
    weeks = series.forecast_weeks(tables.actuals.clear(), tables.predictions, horizon=1)
    assert set(weeks["period"]) == {"coming"}
    assert weeks.height == weeks["week_start"].n_unique() == ACTUAL_WEEKS + 1


def test_as_of_is_the_monday_after_the_last_actual_week(tables):
    assert series.as_of(tables.actuals) == datetime.combine(
        LAST_ACTUAL + timedelta(weeks=1), datetime.min.time()
    )
    assert series.as_of(tables.actuals.clear()) is None


def test_window_metrics_keep_the_rolling_windows_only():
    kept = series.window_metrics(crafted_metrics(), [4, 13])
    assert set(kept["window_name"]) == {"last_4_weeks", "last_13_weeks"}
    assert kept.height == 3 * 2 * 2  # runs x windows x sources


def test_drift_ratios_divide_each_statistic_by_its_alert_threshold():
    ratios = series.drift_ratios(crafted_drift())
    alerting = ratios.filter(
        (pl.col("feature") == "cycles") & (pl.col("statistic") == "psi")
        & (pl.col("run_at") == T0 + timedelta(weeks=1))
    ).row(0, named=True)  # fmt: skip
    assert alerting["ratio"] == pytest.approx(3.0)
    assert alerting["status"] == "alert"
    assert "ks" not in ratios["statistic"].to_list()  # no threshold, no ratio


def test_champion_spans_change_with_promotions_and_rollbacks_not_with_keeps():
    until = T0 + timedelta(weeks=10)
    spans = series.champion_spans(crafted_decisions(), until)
    assert spans.select("champion", "start", "end").rows() == [
        ("naive-1", T0, T0 + timedelta(weeks=2)),
        ("ridge-1", T0 + timedelta(weeks=2), T0 + timedelta(weeks=4)),
        ("naive-1", T0 + timedelta(weeks=4), until),
    ]
    assert spans["end"].dtype == pl.Datetime("us", "UTC")


def test_decision_labels_say_who_decided_and_under_which_policy():
    events = series.decision_events(crafted_decisions())
    promoted = events.filter(pl.col("action") == "promote").row(0, named=True)
    assert promoted["label"] == "promote ridge-1 by alice (manual)"
    assert events.filter(pl.col("changes_champion"))["action"].to_list() == [
        "bootstrap", "promote", "rollback",
    ]  # fmt: skip


def test_empty_tables_shape_to_empty_series():
    empty = pl.DataFrame()
    assert series.forecast_weeks(empty, empty, 1).is_empty()
    assert series.drift_ratios(empty).is_empty()
    assert series.champion_spans(empty, datetime.now(UTC)).is_empty()
    assert series.window_metrics(empty, [4]).is_empty()
