"""When the champion has degraded enough, for long enough, to retrain: the rule and its spans.

The rule in hhcast.yaml (`monitoring.degradation`) has four conditions, any of which breaches
a monitor run: the model's error on the latest weeks above (1 + tolerance) x its own backtest
error; its mean error over the newest few weeks further from 0 than `max_bias_se` standard
errors (a level shift shows there first, before it moves a longer window's MAE); its 80 %
interval covering too few of the latest weeks; or drift alerts on too many features. A
breach sustained over `sustained_runs` consecutive monitor runs that scored new weeks opens an
alert; the first healthy one after it closes it, so the history shows spans, not a stream of
alarms. An alert on a champion that has been replaced closes with the replacement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DegradationRule:
    """The thresholds of monitoring.degradation (see hhcast.yaml)."""

    mae_tolerance: float
    min_coverage_80: float
    drift_alert_features: int
    sustained_runs: int
    max_bias_se: float = math.inf


@dataclass(frozen=True)
class Check:
    """One monitor run's verdict: which conditions breached, with the figures behind them."""

    breaches: list[str]
    figures: dict[str, float | int | None] = field(default_factory=dict)

    @property
    def breached(self) -> bool:
        return bool(self.breaches)


def check(
    rule: DegradationRule,
    *,
    recent_mae: float,
    backtest_mae: float,
    coverage_80: float,
    drift_alerts: int,
    recent_bias: float = math.nan,
    bias_weeks: int = 0,
    backtest_rmse: float = math.nan,
) -> Check:
    """This run's conditions: error, bias, coverage and drift against the rule.

    The bias's standard error is the backtest RMSE over the square root of its weeks: what
    the mean of that many of the model's own out-of-sample errors spreads by.
    """
    limit = (1 + rule.mae_tolerance) * backtest_mae
    bias_limit = (
        rule.max_bias_se * backtest_rmse / math.sqrt(bias_weeks) if bias_weeks else math.nan
    )
    figures = {
        "recent_mae": recent_mae, "backtest_mae": backtest_mae, "mae_limit": limit,
        "recent_bias": recent_bias, "bias_weeks": bias_weeks, "bias_limit": bias_limit,
        "coverage_80": coverage_80, "min_coverage_80": rule.min_coverage_80,
        "drift_alert_features": drift_alerts, "max_drift_alert_features": rule.drift_alert_features,
    }  # fmt: skip
    breaches = []
    if math.isfinite(recent_mae) and math.isfinite(limit) and recent_mae > limit:
        breaches.append(
            f"MAE {recent_mae:,.1f} above {limit:,.1f} ({1 + rule.mae_tolerance:.2f}x backtest)"
        )
    if math.isfinite(recent_bias) and math.isfinite(bias_limit) and abs(recent_bias) > bias_limit:
        breaches.append(
            f"bias {recent_bias:+,.1f} HH over the last {bias_weeks} weeks beyond "
            f"±{bias_limit:,.1f} ({rule.max_bias_se:g} standard errors)"
        )
    if math.isfinite(coverage_80) and coverage_80 < rule.min_coverage_80:
        breaches.append(f"80 % coverage {coverage_80:.2f} below {rule.min_coverage_80:.2f}")
    if drift_alerts >= rule.drift_alert_features:
        breaches.append(f"drift alert on {drift_alerts} features")
    return Check(breaches, figures)


def next_step(runs: list[tuple[bool, int]], alert_open: bool, sustained_runs: int) -> str:
    """What this monitor run does to the alert: "open", "close", or "none" (nothing changes).

    `runs` are the champion's monitor runs in time order, this run last, each as (breached,
    weeks it scored). Only runs that scored new weeks count towards opening: a run between
    two deliveries that complete weeks (a week is complete once its whole month is, see
    marts.features_weekly) judges the same weeks again. Any healthy run closes an open alert
    (the same weeks judged healthy again means the rule was changed).
    """
    if not runs:
        return "none"
    if alert_open:
        return "close" if not runs[-1][0] else "none"
    if runs[-1][1] == 0:
        return "none"
    evidence = [breached for breached, scored in runs if scored > 0]
    recent = evidence[-sustained_runs:]
    return "open" if len(recent) == sustained_runs and all(recent) else "none"
