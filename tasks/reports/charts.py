"""The report's charts as Vega-Lite (altair), from the frames tasks/reports/series.py shapes.

Each function returns a chart whatever it is given: with nothing to draw, a chart saying what
is missing and how it comes, so a young warehouse still gets a whole report.
"""

from __future__ import annotations

from datetime import datetime

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
_SERIES = alt.Scale(domain=list(SERIES), range=list(SERIES.values()))
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

    color = alt.Color("series:N", scale=_SERIES, title=None)
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
    mae = _dashed_lines(
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
    lines = _dashed_lines(
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


def _dashed_lines(frame, x, y, color, dash, tooltip) -> alt.LayerChart:
    """Lines told apart by colour and dash, with a point at each run. The points are a layer
    of their own: on the lines they would turn the dash legend's strokes into circles."""
    return alt.layer(
        alt.Chart(frame).mark_line().encode(x=x, y=y, color=color, strokeDash=dash),
        alt.Chart(frame)
        .mark_point(filled=True, size=25)
        .encode(x=x, y=y, color=color, tooltip=tooltip),
    )


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


def champion_history(
    spans: pl.DataFrame, events: pl.DataFrame, alerts: pl.DataFrame
) -> alt.LayerChart | alt.Chart:
    """Each champion's span on a timeline, the decisions marked (promotions labelled with who
    decided and by which policy), and the degradation alerts shaded."""
    if spans.is_empty():
        return missing("No champion yet: `hhcast train` trains the candidates and picks one.")
    name = alt.Y("champion:N", title=None, sort=alt.EncodingSortField("start"))
    when = alt.X("start:T", title="decided at", axis=RUN_AXIS)
    layers = []
    if not alerts.is_empty():
        shaded = alerts.with_columns(
            closed=pl.col("closed_at").fill_null(spans["end"].max()),
            label=pl.when(pl.col("closed_at").is_null())
            .then(pl.lit("alert (open)"))
            .otherwise(pl.lit("alert")),
        )
        alert = alt.Chart(shaded)
        layers += [
            alert.mark_rect(color="#fecaca", opacity=0.6).encode(
                x="opened_at:T",
                x2="closed:T",
                tooltip=["label:N", "opened_at:T", "closed_at:T", "model_id:N", "breaches:N"],
            ),
            alert.mark_text(align="left", baseline="bottom", dx=3, color=STATUS["alert"]).encode(
                x="opened_at:T", y=alt.value(-2), text="label:N"
            ),
        ]
    layers.append(
        alt.Chart(spans)
        .mark_bar(height=16, cornerRadius=3)
        .encode(
            x=when,
            x2="end:T",
            y=name,
            color=alt.Color("algorithm:N", title="algorithm"),
            tooltip=["champion:N", "candidate:N", "algorithm:N", "start:T", "end:T"],
        )
    )
    marked = events.rename({"champion_after": "champion", "decided_at": "start"})
    tooltip = [
        "start:T",
        "action:N",
        "from_model:N",
        "to_model:N",
        "decided_by:N",
        "policy:N",
        "note:N",
    ]
    layers += [
        alt.Chart(marked)
        .mark_point(filled=True, size=70, color=ACTUAL, shape="diamond")
        .encode(
            x=when,
            y=name,
            opacity=alt.condition("datum.changes_champion", alt.value(1), alt.value(0.25)),
            tooltip=tooltip,
        ),
        alt.Chart(marked.filter(pl.col("changes_champion")))
        .mark_text(align="left", dx=8, dy=-12, fontSize=11, color=ACTUAL)
        .encode(x=when, y=name, text="label:N"),
    ]
    return alt.layer(*layers).properties(
        width=WIDTH,
        height=max(80, 34 * spans["champion"].n_unique()),
        title="Champion history (diamonds: decisions; labelled: the champion changed)",
    )
