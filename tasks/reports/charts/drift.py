"""Drift per feature: each statistic over its alert threshold at each monitor run."""

from __future__ import annotations

import altair as alt
import polars as pl

from tasks.reports.charts.canvas import RUN_AXIS, STATUS, WIDTH, missing


def drift_per_feature(ratios: pl.DataFrame) -> alt.FacetChart | alt.Chart:
    """Each feature's drift statistics over their alert thresholds per monitor run (1 is the
    threshold), the points filled with the run's status for the feature and window."""
    if ratios.is_empty():
        return missing("No drift measured yet: the monitor measures it once there is a champion.")
    base = alt.Chart(ratios)
    run = alt.X("run_at:T", title="monitor run", axis=RUN_AXIS)
    ratio = alt.Y("ratio:Q", title=None, scale=alt.Scale(domainMin=0))
    lines = base.mark_line(opacity=0.6).encode(
        x=run,
        y=ratio,
        color=alt.Color("statistic:N", title="statistic", scale=alt.Scale(scheme="tableau10")),
        strokeDash=alt.StrokeDash("window_name:N", title="window"),
    )
    # `fill`, not `color`: a scale of its own, so statuses and statistics share no legend
    points = base.mark_point(filled=True, size=28, strokeWidth=0).encode(
        x=run,
        y=ratio,
        fill=alt.Fill(
            "status:N",
            title="status",
            scale=alt.Scale(domain=list(STATUS), range=list(STATUS.values())),
        ),
        tooltip=[
            alt.Tooltip("run_at:T", title="run", format="%Y-%m-%d %H:%M"),
            "feature:N",
            "window_name:N",
            "statistic:N",
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("alert:Q", title="alert threshold", format=".3f"),
            alt.Tooltip("ratio:Q", format=".2f"),
            "status:N",
        ],
    )
    threshold = base.mark_rule(color=STATUS["alert"], strokeDash=[3, 3]).encode(y=alt.datum(1))
    return (
        alt.layer(threshold, lines, points)
        .properties(width=WIDTH - 60, height=70)
        .facet(
            row=alt.Row(
                "feature:N",
                title=None,
                header=alt.Header(labelAngle=0, labelAlign="left", labelFontSize=12),
            )
        )
        .properties(title="Drift per feature (statistic / alert threshold: above 1 alerts)")
    )
