"""Error history: the champion's accuracy per window at each monitor run."""

from __future__ import annotations

import altair as alt
import polars as pl

from tasks.reports.charts.canvas import RUN_AXIS, WIDTH, dashed_lines, missing


def error_history(metrics: pl.DataFrame) -> alt.VConcatChart | alt.Chart:
    """MAE over monitor runs per window (forecast solid, nowcast dashed), and the forecasts'
    interval coverage per window against the 80 % and 95 % they promise."""
    if metrics.is_empty():
        return missing(
            "No monitor run has scored a forecast yet: forecasts are scored once their "
            "weeks' actuals arrive (the next weekly `hhcast run`)."
        )
    names = sorted(
        metrics["window_name"].unique(), key=lambda n: int("".join(filter(str.isdigit, n)))
    )
    window = alt.Color("window_name:N", title="window", sort=names)
    run = alt.X("run_at:T", title="monitor run", axis=RUN_AXIS)
    tooltip = [
        alt.Tooltip("run_at:T", title="run", format="%Y-%m-%d %H:%M"),
        "window_name:N",
        "source:N",
        "n_weeks:Q",
        "model_id:N",
        alt.Tooltip("mae:Q", format=",.1f"),
        alt.Tooltip("wape:Q", format=".1%"),
        alt.Tooltip("bias:Q", format=",.1f"),
        alt.Tooltip("mase:Q", format=".2f"),
        alt.Tooltip("coverage_80:Q", format=".0%"),
        alt.Tooltip("coverage_95:Q", format=".0%"),
    ]
    mae = dashed_lines(
        metrics,
        run,
        alt.Y("mae:Q", title="MAE (HH per week)"),
        window,
        alt.StrokeDash("source:N", title="scored as"),
        tooltip,
    ).properties(width=WIDTH, height=200, title="Error history per window")
    coverage = (
        metrics.filter(pl.col("source") == "forecast")
        .unpivot(
            on=["coverage_80", "coverage_95"],
            index=["run_at", "window_name"],
            variable_name="level",
            value_name="coverage",
        )
        .with_columns(pl.col("level").replace({"coverage_80": "80 %", "coverage_95": "95 %"}))
    )
    covered = alt.Y(
        "coverage:Q",
        title="actuals inside the interval",
        axis=alt.Axis(format="%"),
        scale=alt.Scale(domain=[0, 1]),
    )
    lines = dashed_lines(
        coverage,
        run,
        covered,
        window,
        alt.StrokeDash("level:N", title="interval"),
        ["run_at:T", "window_name:N", "level:N", alt.Tooltip("coverage:Q", format=".0%")],
    )
    promised = (
        alt.Chart(pl.DataFrame({"promised": [0.8, 0.95]}))
        .mark_rule(color="#9ca3af", strokeDash=[2, 2])
        .encode(y="promised:Q")
    )
    return alt.vconcat(
        mae, alt.layer(promised, lines).properties(width=WIDTH, height=160)
    ).resolve_scale(strokeDash="independent")
