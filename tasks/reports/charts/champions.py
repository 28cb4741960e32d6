"""Champion history: who was champion when, the decisions and the degradation alerts."""

from __future__ import annotations

import altair as alt
import polars as pl

from tasks.reports.charts.canvas import ACTUAL, RUN_AXIS, STATUS, WIDTH, missing


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
