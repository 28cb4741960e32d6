"""Champion against challenger on the same holdout weeks: the numbers, the policy, the report."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from hhcast.config import PromotionSettings
from tasks.ml.candidates import Forecaster
from tasks.ml.intervals import coverage, coverage_text, horizons
from tasks.ml.metrics import METRICS, forecast_errors, score
from tasks.ml.registry import Decision, ModelRecord
from tasks.ml.training import TrainedCandidate, backtest_means

LABELS = {"mae": "MAE", "rmse": "RMSE", "wape": "WAPE", "bias": "bias", "r2": "R²"}
WEEKS_SHOWN = 8


@dataclass(frozen=True)
class Comparison:
    """Both models' errors over the challenger's holdout weeks, and the week-by-week forecasts."""

    challenger: TrainedCandidate
    champion: ModelRecord
    champion_metrics: dict[str, float]
    weeks: pl.DataFrame  # week_start, actual, champion, challenger
    champion_saw_weeks: int  # holdout weeks inside the champion's own training window

    @property
    def challenger_metrics(self) -> dict[str, float]:
        return self.challenger.holdout.metrics

    def metrics_record(self) -> dict:
        """What ml.promotions keeps of the comparison."""
        return {
            "holdout": [str(self.weeks["week_start"].min()), str(self.weeks["week_start"].max())],
            "champion": {"model_id": self.champion.model_id, **self.champion_metrics},
            "challenger": {"model_id": self.challenger.model_id, **self.challenger_metrics},
        }


def compare(
    challenger: TrainedCandidate, champion: ModelRecord, champion_model: Forecaster, target: str,
    holdout: pl.DataFrame,
) -> Comparison:  # fmt: skip
    """Re-score the champion on the challenger's holdout weeks (never reuse its old numbers).

    `champion_model` is the champion's scored fit, as the challenger's numbers are its scored
    fit's: a production fit has learnt weeks that may be among these. Its intervals' coverage
    is counted on these weeks too, each week's horizon reckoned from the fit's last week.
    """
    predicted = champion_model.predict(holdout)
    weeks = pl.DataFrame(
        {
            "week_start": holdout["week_start"],
            "actual": holdout[target],
            "champion": predicted,
            "challenger": challenger.predictions["y_pred"],
        }
    )
    saw = holdout.filter(
        pl.col("week_start").is_between(champion.train_start, champion.train_end)
    ).height
    actual = holdout[target].to_numpy()
    weeks_ahead = horizons(holdout["week_start"], champion.train_end)
    metrics = {
        **forecast_errors(actual, predicted),
        **coverage(champion.intervals, actual, predicted, weeks_ahead),
    }
    return Comparison(challenger, champion, metrics, weeks, saw)


def auto_verdict(
    comparison: Comparison, policy: PromotionSettings, primary: str
) -> tuple[bool, str]:
    """Promote when the challenger beats the champion by the margin and is no worse on the guard."""
    if comparison.challenger.model_id == comparison.champion.model_id:
        return False, "the challenger is the champion already"
    new, old = comparison.challenger_metrics, comparison.champion_metrics
    p_new, p_old = score(new, primary), score(old, primary)
    needed = p_old - policy.margin * abs(p_old)
    g_new, g_old = score(new, policy.guard_metric), score(old, policy.guard_metric)
    guard_limit = g_old + policy.guard_tolerance * abs(g_old)
    primary_text = (
        f"{LABELS.get(primary, primary)} {_value(new, primary)} vs {_value(old, primary)} "
        f"({_relative(p_new, p_old)}; needs {policy.margin:.0%} better)"
    )
    guard_text = (
        f"{LABELS.get(policy.guard_metric, policy.guard_metric)} "
        f"{_value(new, policy.guard_metric)} vs {_value(old, policy.guard_metric)}"
    )
    if not all(math.isfinite(v) for v in (p_new, p_old, g_new, g_old)):
        return False, f"a metric is undefined on these weeks ({primary_text}; {guard_text})"
    if p_new > needed:
        return False, primary_text
    if g_new > guard_limit:
        return False, f"{primary_text}, but worse on the guard: {guard_text}"
    return True, f"{primary_text}; guard {guard_text}"


def auto_says(promote: bool, verdict: str) -> str:
    """What the auto policy would do, for the report and the notes of other policies."""
    return f"auto would {'promote' if promote else 'keep'}: {verdict}"


def decision(
    comparison: Comparison, promote: bool, policy: str, decided_by: str, note: str
) -> Decision:
    """The promote-or-keep decision on a comparison, as ml.promotions records it."""
    champion, challenger = comparison.champion.model_id, comparison.challenger.model_id
    return Decision(
        action="promote" if promote else "keep",
        from_model=champion,
        to_model=challenger,
        champion_after=challenger if promote else champion,
        policy=policy,
        decided_by=decided_by,
        note=note,
        metrics=comparison.metrics_record(),
    )


def bootstrap_decision(trained: list[TrainedCandidate]) -> Decision:
    """The first champion: the run's naive baseline, until a model beats it."""
    baseline = next(c for c in trained if c.algorithm == "naive")
    return Decision(
        action="bootstrap",
        from_model=None,
        to_model=baseline.model_id,
        champion_after=baseline.model_id,
        policy="bootstrap",
        decided_by="policy",
        note="first training: the naive baseline is champion until a model beats it",
        metrics={"baseline": {"model_id": baseline.model_id, **baseline.holdout.metrics}},
    )


def report(comparison: Comparison, trained: list[TrainedCandidate], verdict: str) -> str:
    """Markdown for the Prefect UI: side-by-side metrics, the candidates, the last weeks."""
    ch, cp = comparison.challenger, comparison.champion
    first, last = comparison.weeks["week_start"].min(), comparison.weeks["week_start"].max()
    lines = [
        f"## Challenger `{ch.model_id}` vs champion `{cp.model_id}`",
        "",
        f"Holdout: {comparison.weeks.height} weeks, {first} to {last}. The champion "
        f"({cp.algorithm}, dataset version {cp.dataset_version}) was re-scored on these weeks "
        f"with its scored fit (weeks {cp.train_start} to {cp.train_end}), as the challenger is "
        "scored with its fit on the weeks before them. Each forecasts with its production "
        "fit, on every complete week of its dataset version.",
    ]
    if comparison.champion_saw_weeks:
        lines.append(
            f"**Caution:** the champion was trained on {comparison.champion_saw_weeks} of these "
            "weeks, which flatters its numbers."
        )
    lines += ["", "| metric | champion | challenger | change |", "|---|---:|---:|---:|"]
    for m in METRICS:
        old, new = comparison.champion_metrics[m], comparison.challenger_metrics[m]
        lines.append(
            f"| {LABELS[m]} | {_value(comparison.champion_metrics, m)} | "
            f"{_value(comparison.challenger_metrics, m)} | {_delta(new, old, m)} |"
        )
    lines += [
        "",
        "Prediction intervals (split-conformal on each model's backtest errors), share of these "
        f"weeks inside them: champion {coverage_text(comparison.champion_metrics)}; challenger "
        f"{coverage_text(comparison.challenger_metrics)}.",
    ]
    lines += ["", f"**Policy:** {verdict}", "", "### Last weeks of the holdout (HH)", ""]
    lines += ["| week | actual | champion | challenger |", "|---|---:|---:|---:|"]
    for row in comparison.weeks.tail(WEEKS_SHOWN).iter_rows(named=True):
        lines.append(
            f"| {row['week_start']} | {row['actual']:,.1f} | {row['champion']:,.1f} | "
            f"{row['challenger']:,.1f} |"
        )
    lines += ["", "### Candidates of this run", ""]
    lines += [
        "| candidate | algorithm | backtest MAE (mean ± sd) | holdout MAE | holdout coverage "
        "| seconds |",
        "|---|---|---:|---:|---|---:|",
    ]
    for c in sorted(trained, key=lambda c: backtest_means(c)["mae"]):
        b = c.backtest
        mark = " (challenger)" if c.model_id == ch.model_id else ""
        lines.append(
            f"| `{c.model_id}`{mark} | {c.algorithm} | {b['mae_mean']:,.1f} ± {b['mae_std']:,.1f}"
            f" | {c.holdout.metrics['mae']:,.1f} | {coverage_text(c.holdout.metrics)} "
            f"| {c.seconds:.1f} |"
        )
    return "\n".join(lines)


def _value(metrics: dict[str, float], name: str) -> str:
    if name == "abs_bias":
        return f"{abs(metrics['bias']):,.2f}"
    return f"{metrics[name]:,.4f}" if name in {"wape", "r2"} else f"{metrics[name]:,.2f}"


def _relative(new_loss: float, old_loss: float) -> str:
    if not old_loss:
        return "n/a"
    return f"{(new_loss - old_loss) / abs(old_loss):+.1%}"


def _delta(new: float, old: float, metric: str) -> str:
    change = new - old
    text = f"{change:+,.4f}" if metric in {"wape", "r2"} else f"{change:+,.2f}"
    if metric in {"mae", "rmse", "wape"} and old:
        text += f" ({change / old:+.1%})"
    return text
