"""Time splits: the holdout is the newest weeks, folds roll forward, nothing is shuffled."""

from __future__ import annotations

import polars as pl
import pytest
from weekly_rows import weekly_features

from hhcast.config import TrainingSettings
from tasks.ml.dataset import DatasetError, time_split


def config(**changes) -> TrainingSettings:
    values = {
        "features": ["acft", "sum_daily_hours"],
        "holdout_weeks": 26,
        "backtest_folds": 4,
        "fold_weeks": 13,
        "min_train_weeks": 52,
        "candidates": {"naive": {"algorithm": "naive", "params": {"column": "hh_lag_52"}}},
    }
    return TrainingSettings.model_validate({**values, **changes})


def test_holdout_is_the_newest_weeks_and_every_fold_trains_only_on_its_past():
    weeks = weekly_features(160).sample(fraction=1.0, shuffle=True, seed=3)  # order must not matter
    split = time_split(weeks, config())

    ordered = weeks.sort("week_start")["week_start"]
    assert split.holdout.test["week_start"].to_list() == ordered.tail(26).to_list()
    assert split.holdout.train["week_start"].to_list() == ordered.head(134).to_list()
    assert [f.number for f in split.folds] == [1, 2, 3, 4]
    for fold in split.folds:
        assert fold.test.height == 13
        assert fold.train["week_start"].max() < fold.test["week_start"].min()
        assert fold.test["week_start"].max() < split.holdout.test["week_start"].min()
        assert fold.train["week_start"].is_sorted()
    # folds tile the 52 weeks before the holdout, the first training on 82 weeks
    tested = pl.concat([f.test for f in split.folds])["week_start"]
    assert tested.to_list() == ordered[82:134].to_list()
    assert split.folds[0].train.height == 82


def test_too_few_weeks_says_how_many_are_needed_and_what_to_change():
    with pytest.raises(DatasetError, match=r"100 complete weeks, but training needs 130") as err:
        time_split(weekly_features(100), config())
    assert "hhcast.yaml" in str(err.value)


def test_a_config_without_a_naive_candidate_is_refused():
    with pytest.raises(ValueError, match="algorithm: naive"):
        config(candidates={"ridge": {"algorithm": "linear"}})
