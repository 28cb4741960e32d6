"""The charts' Vega-Lite specs draw the crafted tables' values, and say what is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from report_tables import (
    COMING_WEEK,
    KNOWN_WEEK,
    LAST_ACTUAL,
    T0,
    all_layers,
    iso,
    mark_type,
    rows_of,
    series_layer,
)

from tasks.reports import charts, series


def forecast_spec(tables, horizon: int | None = 1) -> dict:
    weeks = series.forecast_weeks(tables.actuals, tables.predictions, horizon)
    chart = charts.forecast_vs_actual(weeks, tables.actuals, series.as_of(tables.actuals), horizon)
    return chart.to_dict()


def test_the_bands_of_a_known_week_are_its_forecasts_intervals(tables):
    spec = forecast_spec(tables)
    band_95 = series_layer(spec, "95 % interval")
    band_80 = series_layer(spec, "80 % interval")
    assert mark_type(band_95) == mark_type(band_80) == "area"
    assert (band_95["encoding"]["y"]["field"], band_95["encoding"]["y2"]["field"]) == (
        "hh_lower_95", "hh_upper_95",
    )  # fmt: skip
    (known,) = [r for r in rows_of(spec, band_95) if r["week_start"] == iso(KNOWN_WEEK)]
    # the forecast made one week ahead: 503 ± 10 and ± 20 (the two-weeks-ahead one is 303)
    assert (known["hh_lower_80"], known["hh_upper_80"]) == (493.0, 513.0)
    assert (known["hh_lower_95"], known["hh_upper_95"]) == (483.0, 523.0)


def test_no_what_if_row_is_drawn(tables):
    spec = forecast_spec(tables, horizon=None)
    for layer in all_layers(spec):
        for row in rows_of(spec, layer):
            assert row.get("plan_file") != "what-if"
            assert row.get("hh_pred") != 9999.0


def test_the_actuals_the_coming_week_and_the_rule_where_actuals_end_are_drawn(tables):
    spec = forecast_spec(tables)
    actual = series_layer(spec, "actual HH")
    assert mark_type(actual) == "line"
    assert [r["hh"] for r in rows_of(spec, actual)] == tables.actuals["hh"].to_list()
    forecast = rows_of(spec, series_layer(spec, "forecast"))
    (coming,) = [r for r in forecast if r["week_start"] == iso(COMING_WEEK)]
    assert (coming["hh_pred"], coming["period"]) == (800.0, "coming")
    (rule,) = [layer for layer in all_layers(spec) if mark_type(layer) == "rule"]
    assert rows_of(spec, rule)[0]["as_of"] == iso(LAST_ACTUAL + timedelta(weeks=1))
    assert "the forecast made 1 week ahead" in spec["title"]["text"]
    assert spec["title"]["subtitle"] == ""


def test_actuals_without_forecasts_say_so_under_the_title(tables):
    no_forecasts = series.forecast_weeks(tables.actuals, tables.predictions.clear(), 1)
    chart = charts.forecast_vs_actual(no_forecasts, tables.actuals, None, None)
    spec = chart.to_dict()
    assert spec["title"]["subtitle"].startswith("no forecast yet")
    assert "each week's latest forecast" in spec["title"]["text"]
    assert len(rows_of(spec, series_layer(spec, "actual HH"))) == tables.actuals.height


def test_error_history_draws_mae_per_window_and_coverage_against_its_promise(tables):
    metrics = series.window_metrics(tables.metrics, [4, 13, 26])
    spec = charts.error_history(metrics).to_dict()
    lines = [layer for layer in all_layers(spec) if mark_type(layer) == "line"]
    mae, coverage = lines
    assert mae["encoding"]["y"]["field"] == "mae"
    drawn = rows_of(spec, mae)
    assert {r["window_name"] for r in drawn} == {"last_4_weeks", "last_13_weeks", "last_26_weeks"}
    assert sorted({r["mae"] for r in drawn}) == [40.0, 41.0, 42.0]
    # the windows in the legend by their length, not alphabetically
    assert mae["encoding"]["color"]["sort"] == ["last_4_weeks", "last_13_weeks", "last_26_weeks"]
    levels = {(r["level"], r["coverage"]) for r in rows_of(spec, coverage)}
    assert levels == {("80 %", 0.75), ("95 %", 0.9)}  # nowcasts have no interval
    (rule,) = [layer for layer in all_layers(spec) if mark_type(layer) == "rule"]
    assert [r["promised"] for r in rows_of(spec, rule)] == [0.8, 0.95]


def test_drift_draws_each_ratio_with_its_status_per_feature(tables):
    spec = charts.drift_per_feature(series.drift_ratios(tables.drift)).to_dict()
    assert spec["facet"]["row"]["field"] == "feature"
    (points,) = [layer for layer in all_layers(spec) if mark_type(layer) == "point"]
    assert points["encoding"]["fill"]["field"] == "status"
    assert points["encoding"]["fill"]["scale"]["range"][2] == charts.STATUS["alert"]
    rows = spec["datasets"][spec["data"]["name"]]
    (alerting,) = [r for r in rows if r["status"] == "alert" and r["statistic"] == "psi"]
    assert (alerting["feature"], alerting["ratio"]) == ("cycles", pytest.approx(3.0))
    (threshold,) = [layer for layer in all_layers(spec) if mark_type(layer) == "rule"]
    assert threshold["encoding"]["y"]["datum"] == 1


def test_champion_history_draws_spans_labels_and_alerts(tables):
    until = T0 + timedelta(weeks=10)
    spans = series.champion_spans(tables.decisions, until)
    spec = charts.champion_history(
        spans, series.decision_events(tables.decisions), tables.alerts
    ).to_dict()
    by_mark = {}
    for layer in all_layers(spec):
        by_mark.setdefault(mark_type(layer), []).append(rows_of(spec, layer))
    (bars,) = by_mark["bar"]
    assert [r["champion"] for r in bars] == ["naive-1", "ridge-1", "naive-1"]
    labels = [r["label"] for rows in by_mark["text"] for r in rows]
    assert "promote ridge-1 by alice (manual)" in labels
    assert "rollback naive-1 by bob (rollback)" in labels
    assert not any(label.startswith("keep") for label in labels)  # a keep is a faint mark only
    assert "alert (open)" in labels
    (decisions,) = by_mark["point"]
    assert len(decisions) == 4


@pytest.mark.parametrize(
    ("draw", "says"),
    [
        (lambda: charts.forecast_vs_actual(
            series.forecast_weeks(pl.DataFrame(), pl.DataFrame(), 1), pl.DataFrame(), None, 1),
         "No actual weeks and no forecasts yet"),
        (lambda: charts.error_history(pl.DataFrame()), "No monitor run has scored a forecast"),
        (lambda: charts.drift_per_feature(series.drift_ratios(pl.DataFrame())),
         "No drift measured yet"),
        (lambda: charts.champion_history(
            series.champion_spans(pl.DataFrame(), datetime.now(UTC)), pl.DataFrame(),
            pl.DataFrame()),
         "No champion yet"),
    ],
)  # fmt: skip
def test_a_chart_with_nothing_to_draw_says_what_is_missing(draw, says):
    spec = draw().to_dict()
    (layer,) = all_layers(spec)
    assert mark_type(layer) == "text"
    assert rows_of(spec, layer)[0]["message"].startswith(says)
