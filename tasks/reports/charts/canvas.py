"""What every chart of the report shares: its width, colours, the monitor-run axis, lines told
apart by dash, and the chart that says what is missing."""

from __future__ import annotations

import altair as alt
import polars as pl

WIDTH = 640
ACTUAL, FORECAST = "#1f2933", "#2563eb"
SERIES = {  # legend entry: colour
    "actual HH": ACTUAL,
    "forecast": FORECAST,
    "80 % interval": "#93b4f5",
    "95 % interval": "#d3e0fb",
}
STATUS = {"ok": "#16a34a", "warn": "#f59e0b", "alert": "#dc2626"}
SERIES_SCALE = alt.Scale(domain=list(SERIES), range=list(SERIES.values()))
# monitor runs are weekly in production, minutes apart in a demo: date and time on every label
RUN_AXIS = alt.Axis(format="%d %b %H:%M", labelAngle=0, labelOverlap=True)


def missing(message: str, height: int = 60) -> alt.Chart:
    """A chart holding only a sentence: what is missing and what would bring it."""
    return (
        alt.Chart(pl.DataFrame({"message": [message]}))
        .mark_text(fontSize=14, color="#6b7280")
        .encode(text="message:N")
        .properties(width=WIDTH, height=height)
    )


def dashed_lines(frame, x, y, color, dash, tooltip) -> alt.LayerChart:
    """Lines told apart by colour and dash, with a point at each run. The points are a layer
    of their own: on the lines they would turn the dash legend's strokes into circles."""
    return alt.layer(
        alt.Chart(frame).mark_line().encode(x=x, y=y, color=color, strokeDash=dash),
        alt.Chart(frame)
        .mark_point(filled=True, size=25)
        .encode(x=x, y=y, color=color, tooltip=tooltip),
    )
