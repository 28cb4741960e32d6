"""Forecast vs actual: the weekly HH, the forecasts made for those weeks and the coming ones,
their intervals as bands."""

from __future__ import annotations

from datetime import datetime

import altair as alt
import polars as pl

from tasks.reports.charts.canvas import SERIES_SCALE, WIDTH, missing


def forecast_vs_actual(
    weeks: pl.DataFrame, actuals: pl.DataFrame, as_of: datetime | None, horizon: int | None
) -> alt.Chart | alt.LayerChart:
    """Weekly actual HH, the forecasts made for those weeks and for the coming ones, their
    80 % and 95 % intervals, and a rule where the actuals end."""
    if weeks.is_empty() and actuals.is_empty():
        return missing("No actual weeks and no forecasts yet: run `hhcast run`.")
    x = alt.X("week_start:T", title="week", axis=alt.Axis(format="%d %b %Y"))
    hh = alt.Y("hh_pred:Q", title="HH per week")
    past = (
        f"the forecast made {horizon} week{'s' if horizon != 1 else ''} ahead"
        if horizon
        else "each week's latest forecast"
    )
    tooltip = [
        alt.Tooltip("week_start:T", title="week", format="%Y-%m-%d"),
        alt.Tooltip("period:N", title="week is"),
        alt.Tooltip("hh_actual:Q", title="actual HH", format=",.0f"),
        alt.Tooltip("hh_pred:Q", title="forecast HH", format=",.0f"),
        alt.Tooltip("hh_lower_80:Q", title="80 % low", format=",.0f"),
        alt.Tooltip("hh_upper_80:Q", title="80 % high", format=",.0f"),
        alt.Tooltip("hh_lower_95:Q", title="95 % low", format=",.0f"),
        alt.Tooltip("hh_upper_95:Q", title="95 % high", format=",.0f"),
        alt.Tooltip("horizon_weeks:Q", title="weeks ahead"),
        alt.Tooltip("model_id:N", title="model"),
    ]

    def drawn_as(frame: pl.DataFrame, name: str) -> alt.Chart:
        return alt.Chart(frame).transform_calculate(series=f"'{name}'")

    color = alt.Color("series:N", scale=SERIES_SCALE, title=None)
    layers = [
        drawn_as(weeks, "95 % interval")
        .mark_area(opacity=0.9)
        .encode(
            x=x,
            y=alt.Y("hh_lower_95:Q", title="HH per week"),
            y2="hh_upper_95:Q",
            color=color,
        ),
        drawn_as(weeks, "80 % interval")
        .mark_area(opacity=0.9)
        .encode(
            x=x,
            y="hh_lower_80:Q",
            y2="hh_upper_80:Q",
            color=color,
        ),
        drawn_as(weeks, "forecast")
        .mark_line(point=alt.OverlayMarkDef(size=20))
        .encode(x=x, y=hh, color=color, tooltip=tooltip),
        drawn_as(actuals, "actual HH")
        .mark_line(point=alt.OverlayMarkDef(size=16), strokeWidth=1.8)
        .encode(
            x=x,
            y="hh:Q",
            color=color,
            tooltip=[
                alt.Tooltip("week_start:T", title="week", format="%Y-%m-%d"),
                alt.Tooltip("hh:Q", title="actual HH", format=",.0f"),
            ],
        ),
    ]
    if as_of is not None:
        today = alt.Chart(pl.DataFrame({"as_of": [as_of], "label": ["actuals end"]}))
        layers += [
            today.mark_rule(strokeDash=[4, 4], color="#6b7280").encode(x="as_of:T"),
            today.mark_text(align="right", dx=-4, baseline="top", color="#6b7280").encode(
                x="as_of:T", y=alt.value(0), text="label:N"
            ),
        ]
    title = alt.TitleParams(
        f"Forecast vs actual (past weeks: {past})",
        subtitle="no forecast yet: `hhcast forecast` makes one once there is a champion"
        if weeks.is_empty()
        else "",
    )
    return alt.layer(*layers).properties(width=WIDTH, height=300, title=title)
