"""A sample delivered over time: its history once, then one week of exports at a time.

A plant hands its exports over week by week: each Monday, the utilisation and the work
orders closed so far this month (the month's files are re-issued, growing) and that Monday's
flight-plan issue. `bench/forecast.py` and `hhcast demo --live` both deliver the sample this
way, so the retraining loop sees what a weekly schedule would.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from hhcast.sample import PRESETS, GenerationReport, generate


@dataclass(frozen=True)
class Drift:
    """From `starts` on, each block hour causes `factor` times its usual unscheduled work."""

    starts: date
    factor: float


@dataclass(frozen=True)
class WeeklyDeliveries:
    """A preset's exports up to `history_end`, then the week of each Monday in `weeks`."""

    preset: str
    seed: int
    history_end: date  # a Sunday: the history is every day up to it
    weeks: tuple[date, ...]  # the Mondays delivered, in order
    drift: Drift | None = None

    def history(self, out: Path) -> GenerationReport:
        """Write the exports of every day up to `history_end` under `out` (landing/, truth/)."""
        return generate(out, preset=self.preset, seed=self.seed, end=self.history_end,
                        **self._drift())  # fmt: skip

    def deliver(self, out: Path, monday: date) -> GenerationReport:
        """Write the week of `monday`: its month's exports up to that Sunday, and the plans."""
        sunday = monday + timedelta(days=6)
        return generate(out, preset=self.preset, seed=self.seed, start=monday.replace(day=1),
                        end=sunday, **self._drift())  # fmt: skip

    def _drift(self) -> dict:
        if self.drift is None:
            return {}
        return {"drift_from": self.drift.starts, "drift_factor": self.drift.factor}


def mondays(first: date, count: int) -> tuple[date, ...]:
    """`count` consecutive Mondays from `first` (a Monday)."""
    return tuple(first + timedelta(weeks=k) for k in range(count))


# The live demo's scenario per preset: the history leaves the first training at least its 130
# complete weeks (training: in hhcast.yaml) and ends on the Sunday before the drift's first
# week. A week is complete, so scored, once its whole month is in: the drift's first month
# is scored with the 5th delivery, the one holding the month's last day.
LIVE_DRIFT = {
    "small": Drift(date(2022, 2, 28), 1.3),
    "medium": Drift(date(2025, 3, 3), 1.3),
    "large": Drift(date(2025, 3, 3), 1.3),
}
LIVE_HISTORY_END = {
    "small": date(2022, 2, 27),
    "medium": date(2025, 3, 2),
    "large": date(2025, 3, 2),
}


def live_deliveries(
    preset: str, seed: int = 7, drift_from: date | None = None, weeks: int | None = None
) -> WeeklyDeliveries:
    """The live demo's deliveries: the preset's history, then every whole week left in its span
    (or the first `weeks`), with the preset's drift, from `drift_from` if given."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    history_end = LIVE_HISTORY_END[preset]
    first = history_end + timedelta(days=1)
    available = (PRESETS[preset].end - first + timedelta(days=1)).days // 7  # whole weeks
    if weeks is not None and not 1 <= weeks <= available:
        raise ValueError(
            f"--weeks {weeks}: the {preset!r} sample has {available} weeks to deliver after "
            f"its history (from {first}); pick 1 to {available}"
        )
    delivered = mondays(first, weeks or available)
    drift = LIVE_DRIFT[preset]
    if drift_from is not None:
        if drift_from.weekday() != 0 or not first <= drift_from <= delivered[-1]:
            raise ValueError(
                f"--drift-from {drift_from}: the drift must start on a Monday among the "
                f"delivered weeks, {first} to {delivered[-1]}"
            )
        drift = replace(drift, starts=drift_from)
    return WeeklyDeliveries(preset, seed, history_end, delivered, drift)
