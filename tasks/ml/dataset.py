"""The weeks a training run learns from: one recorded dataset version, cut on time."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import polars as pl

from hhcast.config import Settings, TrainingSettings
from tasks.ml.errors import DatasetError
from warehouse.connection import connect, first_row
from warehouse.lake import filesystem


@dataclass(frozen=True)
class TrainingSet:
    """Complete weeks of one dataset version, oldest first; with `level_shifts`, their
    target rebased by them (tasks/ml/level_shift.py)."""

    version_id: str
    weeks: pl.DataFrame
    level_shifts: tuple = ()


@dataclass(frozen=True)
class Fold:
    """Train on every week before `test`'s first; forecast `test`."""

    number: int | None  # 1..k for the backtest, None for the holdout
    train: pl.DataFrame
    test: pl.DataFrame

    @property
    def split(self) -> str:
        return "holdout" if self.number is None else "backtest"


@dataclass(frozen=True)
class TimeSplit:
    """Rolling-origin backtest folds over the older weeks, then the holdout of the newest.

    `production` is every complete week, the holdout's included: what the model that
    forecasts is fitted on once the folds and the holdout have scored the candidate.
    """

    folds: list[Fold]
    holdout: Fold
    production: pl.DataFrame

    @property
    def holdout_window(self) -> tuple[date, date]:
        return _span(self.holdout.test)

    @property
    def train_window(self) -> tuple[date, date]:
        return _span(self.holdout.train)

    @property
    def production_window(self) -> tuple[date, date]:
        return _span(self.production)


def _span(frame: pl.DataFrame) -> tuple[date, date]:
    return frame["week_start"].min(), frame["week_start"].max()


def load_training_set(settings: Settings, version_id: str | None = None) -> TrainingSet:
    """Read a recorded version's snapshot of marts.features_weekly (default: the latest).

    The snapshot in the lake is the table exactly as that build produced it, so a model can
    be traced to its rows even after later builds changed the live table.
    """
    with connect(settings.warehouse, read_only=True) as con:
        if version_id is None:
            row = first_row(
                con,
                "select version_id, snapshot_uri from meta.dataset_versions "
                "order by built_at desc limit 1",
            )
            if row is None:
                raise DatasetError(
                    "no dataset version recorded yet: run `hhcast transform` (or `hhcast run`) "
                    "to build marts.features_weekly first"
                )
        else:
            row = first_row(
                con,
                "select version_id, snapshot_uri from meta.dataset_versions where version_id = ?",
                [version_id],
            )
            if row is None:
                raise DatasetError(
                    f"dataset version {version_id!r} is not in meta.dataset_versions; "
                    'list them with: hhcast sql "select version_id, built_at, first_week, '
                    'last_week from meta.dataset_versions order by built_at desc"'
                )
    version_id, snapshot_uri = row
    if snapshot_uri is None:
        raise DatasetError(
            f"dataset version {version_id} has no snapshot in the lake to train on; rebuild "
            "with `hhcast transform --full-refresh` and train on the new version"
        )
    fs, path = filesystem(snapshot_uri, settings)
    if not fs.exists(path):
        raise DatasetError(
            f"the snapshot of dataset version {version_id} is missing from the lake "
            f"({snapshot_uri}); rebuild with `hhcast transform --full-refresh` and train on "
            "the new version"
        )
    weeks = pl.read_parquet(io.BytesIO(fs.cat_file(path)))
    complete = weeks.filter(pl.col("is_complete")).sort("week_start")
    return TrainingSet(version_id, complete)


def time_split(weeks: pl.DataFrame, config: TrainingSettings) -> TimeSplit:
    """Cut complete weeks on time: the newest are the holdout, folds roll forward before it.

    Fold i trains on every week before its origin and forecasts the `fold_weeks` after it;
    the last fold ends where the holdout starts; the production fit takes every week. Nothing
    is ever shuffled.
    """
    weeks = weeks.sort("week_start")
    n = weeks.height
    if n < config.weeks_needed:
        raise DatasetError(
            f"{n} complete weeks, but training needs {config.weeks_needed} "
            f"(min_train_weeks {config.min_train_weeks} + backtest_folds "
            f"{config.backtest_folds} x fold_weeks {config.fold_weeks} + holdout_weeks "
            f"{config.holdout_weeks}); lower those in hhcast.yaml (training:) or load more history"
        )
    holdout_start = n - config.holdout_weeks
    folds = []
    for number in range(1, config.backtest_folds + 1):
        origin = holdout_start - (config.backtest_folds - number + 1) * config.fold_weeks
        folds.append(Fold(number, weeks[:origin], weeks[origin : origin + config.fold_weeks]))
    holdout = Fold(None, weeks[:holdout_start], weeks[holdout_start:])
    return TimeSplit(folds, holdout, production=weeks)
