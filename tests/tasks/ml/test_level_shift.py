"""Level shifts: a step in HH per utilisation found in the newest weeks, and the history rebased."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from weekly_rows import FEATURES, weekly_features

from hhcast.config import LevelShiftSettings
from tasks.ml.level_shift import LevelShift, find_shift, rebase, shifts_for_training

CONFIG = LevelShiftSettings()


def stepped(weeks: pl.DataFrame, weeks_after: int, factor: float) -> pl.DataFrame:
    """The weeks with the HH of the last `weeks_after` multiplied by `factor`."""
    since = weeks["week_start"][-weeks_after]
    return weeks.with_columns(
        pl.when(pl.col("week_start") >= since).then(pl.col("hh") * factor).otherwise("hh")
    )


def test_steady_weeks_have_no_shift():
    for seed in range(1, 6):
        assert find_shift(weekly_features(300, seed=seed), FEATURES, "hh", CONFIG) is None


@pytest.mark.parametrize("weeks_after", [2, 5, 13])
def test_a_step_is_found_where_it_starts_and_measured(weeks_after):
    weeks = stepped(weekly_features(300), weeks_after, 1.2)
    shift = find_shift(weeks, FEATURES, "hh", CONFIG)
    assert shift is not None
    assert shift.since == weeks["week_start"][-weeks_after]
    assert shift.weeks_after == weeks_after
    assert shift.factor == pytest.approx(1.2, rel=0.05)


def test_a_step_too_small_or_too_new_is_not_a_shift():
    weeks = weekly_features(300)
    assert find_shift(stepped(weeks, 13, 1.02), FEATURES, "hh", CONFIG) is None  # < 3 %
    assert find_shift(stepped(weeks, 1, 1.3), FEATURES, "hh", CONFIG) is None  # one week


def test_rebase_multiplies_only_the_weeks_before_each_shift():
    weeks = weekly_features(20)
    first, second = weeks["week_start"][10], weeks["week_start"][15]
    shifts = [LevelShift(first, 2.0, 10, 9.0), LevelShift(second, 3.0, 5, 9.0)]
    rebased = rebase(weeks, shifts, "hh")
    ratio = (rebased["hh"] / weeks["hh"]).to_list()
    assert ratio == pytest.approx([6.0] * 10 + [3.0] * 5 + [1.0] * 5)


def test_a_known_shift_is_kept_once_old_and_measured_again_while_new():
    weeks = stepped(weekly_features(300), 40, 1.25)  # the step is older than the window
    since = weeks["week_start"][-40]
    known = [LevelShift(since, 1.25, 14, 8.0)]
    assert shifts_for_training(weeks, known, FEATURES, "hh", CONFIG) == known
    # without what the last training knew, the old step is not in the window any more
    assert shifts_for_training(weeks, [], FEATURES, "hh", CONFIG) == []
    # a step inside the window is looked for afresh: the known size is not trusted
    recent = stepped(weekly_features(300), 6, 1.2)
    guess = [LevelShift(recent["week_start"][-6] - timedelta(weeks=1), 1.05, 2, 6.0)]
    [found] = shifts_for_training(recent, guess, FEATURES, "hh", CONFIG)
    assert found.since == recent["week_start"][-6]
    assert found.factor == pytest.approx(1.2, rel=0.05)


def test_disabled_finds_nothing():
    weeks = stepped(weekly_features(300), 13, 1.3)
    off = LevelShiftSettings(enabled=False)
    assert shifts_for_training(weeks, [], FEATURES, "hh", off) == []
