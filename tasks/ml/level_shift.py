"""Level shifts: when each hour flown starts to cause more (or less) work, rebase the history.

A new inspection programme, an ageing fleet passing a threshold, a new contractor's way of
booking hours: the HH a unit of utilisation causes can change from one week to the next. A
model fitted on years of weeks at the old level learns the new one only after years more. So
before training, hhcast looks for such a step in the newest weeks: a reference fit (ridge on
the training features) on the weeks before them predicts them, out of sample, and the log of
actual over predicted is searched for the one split whose two sides differ most (a
two-sample t statistic). A step clear of the noise (|t| >= `min_t`, at least `min_change`,
and `min_weeks_after` weeks at the new level) multiplies the HH of every week before it by
the step, so every candidate learns the history at today's level.

A shift found once is kept with the model and applied again by the next training as long as
its week lies before the newest window; inside the window it is looked for afresh, so its
size is measured again on more weeks each time.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import polars as pl

from hhcast.config import LevelShiftSettings

MIN_WEEKS_BEFORE = 4  # weeks of the window a step needs before it, to compare with


@dataclass(frozen=True)
class LevelShift:
    """From `since` on the target is `factor` times what the weeks before it would say."""

    since: date
    factor: float
    weeks_after: int
    t_stat: float

    def describe(self) -> str:
        return (
            f"HH before {self.since} rebased x{self.factor:.3f} (a level shift found over "
            f"{self.weeks_after} weeks, t = {self.t_stat:.1f})"
        )

    def as_json(self) -> dict:
        return {**asdict(self), "since": self.since.isoformat()}

    @classmethod
    def from_json(cls, value: dict) -> LevelShift:
        return cls(date.fromisoformat(value["since"]), float(value["factor"]),
                   int(value["weeks_after"]), float(value["t_stat"]))  # fmt: skip


def rebase(weeks: pl.DataFrame, shifts: list[LevelShift], target: str) -> pl.DataFrame:
    """The weeks with the target of each week before a shift multiplied by its factor."""
    factor = pl.lit(1.0)
    for shift in shifts:
        factor = factor * pl.when(pl.col("week_start") < shift.since).then(shift.factor).otherwise(
            1.0
        )
    return weeks.with_columns(pl.col(target) * factor)


def find_shift(
    weeks: pl.DataFrame, features: list[str], target: str, config: LevelShiftSettings
) -> LevelShift | None:
    """The clearest step in the newest `window_weeks`, or None when none stands out."""
    window = config.window_weeks
    if weeks.height < window + max(52, 2 * len(features)):
        return None
    history, recent = weeks[:-window], weeks[-window:]
    # imported here, not at the top: tasks.train imports this module, and every `hhcast`
    # command that runs a flow should start without paying for scikit-learn (1-5 s)
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    reference = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    reference.fit(history.select(features).to_numpy(), history[target].to_numpy())
    predicted = reference.predict(recent.select(features).to_numpy())
    actual = recent[target].to_numpy()
    usable = (predicted > 0) & (actual > 0)
    if not usable.all():
        return None
    log_ratio = np.log(actual / predicted)
    best: tuple[float, int, float] | None = None  # |t|, split, step
    for split in range(MIN_WEEKS_BEFORE, window - config.min_weeks_after + 1):
        before, after = log_ratio[:split], log_ratio[split:]
        t_stat, step = _welch_t(before, after)
        if best is None or abs(t_stat) > abs(best[0]):
            best = (t_stat, split, step)
    if best is None:
        return None
    t_stat, split, step = best
    if abs(t_stat) < config.min_t or abs(math.expm1(step)) < config.min_change:
        return None
    since = recent["week_start"][split]
    return LevelShift(since, math.exp(step), window - split, t_stat)


def _welch_t(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """Welch's t statistic of after's mean over before's, and the difference of the means."""
    step = float(after.mean() - before.mean())
    # One week after a step has no spread of its own: borrow the other side's.
    var_before = before.var(ddof=1) if len(before) > 1 else 0.0
    var_after = after.var(ddof=1) if len(after) > 1 else var_before
    se = math.sqrt(var_before / len(before) + var_after / len(after))
    return (step / se if se > 0 else 0.0), step


def shifts_for_training(
    weeks: pl.DataFrame,
    known: list[LevelShift],
    features: list[str],
    target: str,
    config: LevelShiftSettings,
) -> list[LevelShift]:
    """The shifts a training run applies: the known ones older than the newest window, and a
    step found (again) inside it."""
    if not config.enabled or weeks.is_empty():
        return []
    window_start = (
        weeks["week_start"][-config.window_weeks] if weeks.height >= config.window_weeks else None
    )
    kept = [s for s in known if window_start is not None and s.since < window_start]
    found = find_shift(rebase(weeks, kept, target), features, target, config)
    return [*kept, found] if found else kept
