"""The degradation rule fires when a breach is sustained, stays quiet otherwise, and closes."""

from __future__ import annotations

import math

from tasks.monitoring.alerts import DegradationRule, check, next_step

RULE = DegradationRule(
    mae_tolerance=0.25, min_coverage_80=0.6, drift_alert_features=2, sustained_runs=2
)


def breach(mae: float = 50.0, coverage: float = 0.8, drift: int = 0) -> bool:
    verdict = check(
        RULE, recent_mae=mae, backtest_mae=50.0, coverage_80=coverage, drift_alerts=drift
    )
    return verdict.breached


def test_each_condition_breaches_on_its_own():
    assert not breach()
    assert breach(mae=63.0)  # above 1.25 x 50
    assert not breach(mae=62.0)
    assert breach(coverage=0.5)
    assert breach(drift=2)
    assert not breach(drift=1)


def test_a_bias_beyond_its_standard_errors_breaches_before_the_mae_does():
    rule = DegradationRule(
        mae_tolerance=0.5, min_coverage_80=0.6, drift_alert_features=2, sustained_runs=1,
        max_bias_se=3.0,
    )  # fmt: skip

    def verdict(bias: float):
        return check(
            rule, recent_mae=70.0, backtest_mae=50.0, coverage_80=0.8, drift_alerts=0,
            recent_bias=bias, bias_weeks=4, backtest_rmse=60.0,
        )  # fmt: skip

    # 3 standard errors of a 4-week mean: 3 x 60 / 2 = 90 HH either way
    assert verdict(-91.0).breaches == [
        "bias -91.0 HH over the last 4 weeks beyond ±90.0 (3 standard errors)"
    ]
    assert verdict(91.0).breached and not verdict(89.0).breached
    assert verdict(-91.0).figures["bias_limit"] == 90.0


def test_undefined_figures_do_not_breach():
    assert not breach(mae=math.nan, coverage=math.nan)


def test_the_breach_is_named_with_its_figures():
    verdict = check(RULE, recent_mae=80.0, backtest_mae=50.0, coverage_80=0.4, drift_alerts=0)
    assert verdict.breaches == [
        "MAE 80.0 above 62.5 (1.25x backtest)",
        "80 % coverage 0.40 below 0.60",
    ]
    assert verdict.figures["mae_limit"] == 62.5


def steps_over(history: list[tuple[bool, int]], sustained_runs: int = 2) -> list[str]:
    """next_step after each run of `history` (breached, weeks scored), the alert kept as it
    says."""
    steps, open_ = [], False
    for at in range(1, len(history) + 1):
        step = next_step(history[:at], open_, sustained_runs)
        steps.append(step)
        open_ = (open_ or step == "open") and step != "close"
    return steps


def test_a_crafted_history_fires_once_sustained_stays_open_then_closes():
    history = [(b, 4) for b in [False, True, False, True, True, True, False, False]]
    assert steps_over(history) == ["none", "none", "none", "none", "open", "none", "close", "none"]


def test_a_single_breach_never_fires_when_two_are_needed():
    steps = [next_step([(False, 4)] * at + [(True, 4)], False, 2) for at in range(5)]
    assert set(steps) == {"none"}


def test_runs_that_scored_nothing_new_are_no_evidence():
    # breached, then a run with nothing new (the same weeks judged again), then breached
    history = [(True, 4), (True, 0), (True, 4), (True, 0), (False, 5)]
    assert steps_over(history) == ["none", "none", "open", "none", "close"]
    # one breach is enough when sustained_runs is 1; a repeat without news changes nothing,
    # and the same weeks judged healthy (the rule was changed) close the alert
    assert steps_over([(True, 4), (True, 0), (False, 0)], 1) == ["open", "none", "close"]
