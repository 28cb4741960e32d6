"""Load hhcast's settings from `hhcast.yaml`, with environment variables overriding any key."""

from __future__ import annotations

import os
import re
import warnings
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "HHCAST_"
CONFIG_ENV = "HHCAST_CONFIG"
CONFIG_NAME = "hhcast.yaml"
_REPO_DEFAULT = Path(__file__).resolve().parents[1] / CONFIG_NAME


class ConfigError(ValueError):
    """The configuration file or an HHCAST_* variable is invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class S3Settings(_Strict):
    endpoint_url: str | None = None


class WarehouseSettings(_Strict):
    """The DuckDB file and how long a writer waits for it; usable wherever a path is."""

    path: Path
    writer_lock_timeout_seconds: float = Field(900, ge=0)
    # The read replica analysts query, relative to the folder of `path` (an absolute path
    # puts it elsewhere); None publishes none.
    replica: Path | None = Path("hhcast_read.duckdb")

    @field_validator("replica", mode="before")
    @classmethod
    def _empty_is_none(cls, replica: Any) -> Any:
        return None if isinstance(replica, str) and not replica.strip() else replica

    @model_validator(mode="after")
    def _replica_is_another_file(self) -> WarehouseSettings:
        if self.replica_path is not None and self.replica_path.resolve() == self.path.resolve():
            raise ValueError(
                f"replica: {self.replica} is the warehouse itself ({self.path}); name another "
                "file, e.g. hhcast_read.duckdb, or leave it empty for no replica"
            )
        return self

    @property
    def replica_path(self) -> Path | None:
        """Where the read replica lives: beside the warehouse unless `replica` says otherwise."""
        return None if self.replica is None else self.path.parent / self.replica

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)


class IngestSettings(_Strict):
    max_parallel_files: int = Field(64, ge=1)
    files_per_task: int = Field(16, ge=1)
    worker_processes: int = Field(2, ge=0)
    batch_rows: int = Field(500_000, ge=1)
    header_search_rows: int = Field(20, ge=1)
    max_sheet_cells: int = Field(10_000_000, ge=1)
    ignore_names: list[str] = []


class SourceSettings(_Strict):
    """One raw source: its file format and the header names of each layout in circulation."""

    table: str
    format: Literal["excel", "csv"]
    extensions: list[str]
    layouts: dict[str, dict[str, str]]
    delimiter: str = ","
    encodings: list[str] = ["utf-8"]
    placeholder_dates: list[str] = []
    blank_cycles: int | None = None
    # Flight plans: a regular expression searched in the file's name, whose group
    # `issued_at` is the issue date (read with parsing.date_formats). A name it does not
    # match dates the issue by its earliest planned day.
    issued_at_pattern: str | None = None

    @field_validator("issued_at_pattern")
    @classmethod
    def _names_the_issue_date(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        if "issued_at" not in compiled.groupindex:
            raise ValueError("needs a named group (?P<issued_at>...) holding the issue date")
        return pattern


class ParsingSettings(_Strict):
    date_formats: list[str]
    thousands_separators: list[str] = ["'"]
    excel_day_zero: date = date(1899, 12, 31)


class ContractSettings(_Strict):
    earliest_date: date
    latest_date: date
    max_item_hh: float
    max_daily_flights: int
    max_daily_block_hours: float
    max_daily_cycles: int


class FeatureSettings(_Strict):
    """How weeks are cut and which history features the weekly table carries."""

    week_starts_on: Literal["monday", "sunday"] = "monday"
    hh_lags: list[int] = Field(default_factory=lambda: [1, 2, 4, 52])
    rolling_weeks: list[int] = Field(default_factory=lambda: [4, 13])
    min_aircraft_days: int = Field(1, ge=0)

    @property
    def lookback_weeks(self) -> int:
        """How many earlier weeks a week's features read."""
        return max([*self.hh_lags, *self.rolling_weeks, 0])


class FilterSettings(_Strict):
    aircraft_type: str
    excluded_signs: list[str]
    excluded_ata_descriptions: list[str]
    executed_zero_falls_back_to_planned: bool = True


Metric = Literal["mae", "rmse", "wape", "abs_bias", "r2"]


class CandidateSettings(_Strict):
    """One model to train: its algorithm and that algorithm's parameters."""

    algorithm: Literal["naive", "linear", "tree", "mlp"]
    params: dict[str, Any] = {}


class LevelShiftSettings(_Strict):
    """When training rebases the history to a new level of HH per utilisation
    (tasks/ml/level_shift.py)."""

    enabled: bool = True
    window_weeks: int = Field(26, ge=8)  # the newest weeks a step is looked for in
    min_weeks_after: int = Field(2, ge=1)  # weeks at the new level before it counts
    min_t: float = Field(5.0, gt=0)  # how clear of the week-to-week noise the step must be
    min_change: float = Field(0.03, ge=0)  # and how large, as a share of HH


class IntervalSettings(_Strict):
    """Prediction intervals: split-conformal on each model's backtest errors."""

    levels: list[float] = Field(default_factory=lambda: [0.8, 0.95])
    # Fewer residuals than this and a grain gets no quantile of its own: a horizon falls back
    # on the pooled one, a model with too few in all gets no interval.
    min_residuals: int = Field(20, ge=20)
    # Recalibration from monitoring: once the champion's own scored forecasts of the last
    # `monitored_weeks` weeks (ml.forecast_errors) span `min_monitored_weeks` weeks, its
    # forecasts' intervals come from those instead of its backtest. They hold the flight
    # plan's error too, and follow the weeks as they are now. 0 weeks: always the backtest's.
    # Counted in weeks: one week's forecasts at several horizons miss together.
    monitored_weeks: int = Field(52, ge=0)
    min_monitored_weeks: int = Field(20, ge=20)

    @model_validator(mode="after")
    def _levels_are_probabilities(self) -> IntervalSettings:
        if not self.levels or not all(0 < level < 1 for level in self.levels):
            raise ValueError(
                f"training.intervals.levels must be coverage probabilities between 0 and 1 "
                f"(such as [0.8, 0.95]), not {self.levels}"
            )
        return self


class TrainingSettings(_Strict):
    """What models learn from, how they are evaluated on time, and which are trained."""

    target: str = "hh"
    features: list[str]
    holdout_weeks: int = Field(26, ge=1)
    backtest_folds: int = Field(4, ge=1)
    fold_weeks: int = Field(13, ge=1)
    min_train_weeks: int = Field(52, ge=2)
    seed: int = 7
    primary_metric: Metric = "mae"
    retrain_after_weeks: int = Field(13, ge=1)
    level_shifts: LevelShiftSettings = LevelShiftSettings()
    intervals: IntervalSettings = IntervalSettings()
    candidates: dict[str, CandidateSettings]

    @model_validator(mode="after")
    def _has_naive_baseline(self) -> TrainingSettings:
        if not any(c.algorithm == "naive" for c in self.candidates.values()):
            raise ValueError(
                "training.candidates needs a candidate with algorithm: naive (the first "
                "champion is promoted only by beating it)"
            )
        return self

    @property
    def weeks_needed(self) -> int:
        """Complete weeks a dataset must hold for the backtest and the holdout."""
        return self.min_train_weeks + self.backtest_folds * self.fold_weeks + self.holdout_weeks


class DriftSettings(_Strict):
    """How feature drift is judged (tasks/monitoring/drift.py)."""

    features: list[str] = Field(
        default_factory=lambda: [
            "acft",
            "sum_daily_hours",
            "cycles",
            "sum_uti_mensal",
            "n_aircraft",
        ]
    )
    current_weeks: int = Field(13, ge=2)
    warn_sd: float = Field(2.0, gt=0)
    alert_sd: float = Field(3.0, gt=0)
    floors: dict[str, float] = Field(
        default_factory=lambda: {"psi": 0.1, "wasserstein": 0.1, "ks": 0.1}
    )


class DegradationSettings(_Strict):
    """When the champion has degraded enough to retrain (tasks/monitoring/alerts.py)."""

    mae_window_weeks: int = Field(13, ge=1)
    mae_tolerance: float = Field(0.5, ge=0)
    bias_window_weeks: int = Field(4, ge=1)
    max_bias_se: float = Field(3.0, gt=0)
    min_coverage_80: float = Field(0.6, ge=0, le=1)
    drift_alert_features: int = Field(2, ge=1)
    sustained_runs: int = Field(1, ge=1)


class VolumeSettings(_Strict):
    """Volume checks (tasks/monitoring/volume.py)."""

    reference_weeks: int = Field(52, ge=1)  # the champion's latest training weeks
    margin: float = Field(0.15, ge=0)  # their range widened by this share either way


class MonitoringSettings(_Strict):
    """Scoring forecasts against the actuals, drift, and the degradation rule."""

    windows: list[int] = Field(default_factory=lambda: [4, 13, 26])
    drift: DriftSettings = DriftSettings()
    volume: VolumeSettings = VolumeSettings()
    degradation: DegradationSettings = DegradationSettings()


class PromotionSettings(_Strict):
    """When a challenger replaces the champion."""

    policy: Literal["auto", "manual", "never"] = "auto"
    margin: float = Field(0.02, ge=0, lt=1)
    guard_metric: Metric = "rmse"
    guard_tolerance: float = Field(0.0, ge=0)
    manual_timeout_seconds: int = Field(86_400, ge=1)
    manual_poll_seconds: int = Field(10, ge=1)


class ReportSettings(_Strict):
    """What the report shows (tasks/reports/) and where the Prefect UI may link it."""

    weeks: int = Field(52, ge=1)
    # the forecast drawn for each past week: the latest made this many weeks ahead, or with
    # null the latest made at any horizon
    forecast_horizon: int | None = Field(1, ge=1)
    png_scale: float = Field(1.0, gt=0, le=4)
    # an http(s) address serving the lake's reports/ folder, for a clickable link in the UI
    url: str | None = None


class Settings(_Strict):
    """Everything hhcast reads from its config file, after environment overrides."""

    landing: str
    lake: str
    warehouse: WarehouseSettings
    s3: S3Settings = S3Settings()
    ingest: IngestSettings = IngestSettings()
    sources: dict[str, SourceSettings]
    parsing: ParsingSettings
    contracts: ContractSettings
    features: FeatureSettings = FeatureSettings()
    filters: FilterSettings
    training: TrainingSettings
    promotion: PromotionSettings = PromotionSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    reports: ReportSettings = ReportSettings()
    source_path: Path | None = Field(None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _warehouse_section(cls, raw: Any) -> Any:
        """`warehouse: <path>` is the section's path; ingest.writer_lock_timeout_seconds moved."""
        if not isinstance(raw, dict):
            return raw
        raw = dict(raw)
        if isinstance(raw.get("warehouse"), str | Path):
            raw["warehouse"] = {"path": raw["warehouse"]}
        ingest = raw.get("ingest")
        if isinstance(ingest, dict) and "writer_lock_timeout_seconds" in ingest:
            ingest = dict(ingest)
            moved = ingest.pop("writer_lock_timeout_seconds")
            raw["ingest"] = ingest
            warnings.warn(
                "ingest.writer_lock_timeout_seconds has moved to warehouse.writer_lock_timeout_"
                "seconds (it serves every writer); the old key is read until the next release",
                FutureWarning,
                stacklevel=2,
            )
            if isinstance(raw.get("warehouse"), dict):
                raw["warehouse"] = {"writer_lock_timeout_seconds": moved, **raw["warehouse"]}
        return raw

    @model_validator(mode="after")
    def _shared_extensions_read_alike(self) -> Settings:
        """Sources sharing an extension are told apart by their header, so a file must be
        readable before its source is known: they need the same format, delimiter and
        encodings."""
        by_extension: dict[str, tuple[str, SourceSettings]] = {}
        for name, source in self.sources.items():
            for extension in source.extensions:
                first = by_extension.setdefault(extension.lower(), (name, source))
                other_name, other = first
                reading = ("format", "delimiter", "encodings")
                differ = [k for k in reading if getattr(other, k) != getattr(source, k)]
                if differ:
                    raise ValueError(
                        f"sources {other_name} and {name} share the extension {extension}, so "
                        f"their files are told apart by header and read alike: give them the "
                        f"same {', '.join(differ)}"
                    )
        return self

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with top-level keys replaced (for CLI flags such as --source)."""
        return self.model_copy(update={k: v for k, v in changes.items() if v is not None})


def find_config_file(path: str | Path | None = None) -> Path:
    """The config file to use: the argument, $HHCAST_CONFIG, ./hhcast.yaml, or the repo's.

    A file asked for by name (the argument or $HHCAST_CONFIG) must exist: falling back to
    another one would run against the wrong warehouse without a word.
    """
    asked = path or os.environ.get(CONFIG_ENV)
    if asked:
        if not Path(asked).is_file():
            origin = "" if path else f" (named by ${CONFIG_ENV})"
            raise ConfigError(
                f"{asked}: no such config file{origin}; fix the path, or unset {CONFIG_ENV} "
                f"to use ./{CONFIG_NAME}"
            )
        return Path(asked)
    for candidate in (Path.cwd() / CONFIG_NAME, _REPO_DEFAULT):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} found (looked at ${CONFIG_ENV}, ./{CONFIG_NAME}, {_REPO_DEFAULT}); "
        f"copy the repository's {CONFIG_NAME} next to where you run hhcast"
    )


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the config file, apply HHCAST_* environment overrides, and validate the result."""
    config_file = find_config_file(path)
    try:
        raw = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_file}: not valid YAML: {exc}") from exc
    overrides = apply_env_overrides(raw, os.environ if env is None else env)
    try:
        return Settings.model_validate({**raw, "source_path": config_file})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        origin = f" (after overrides from {', '.join(overrides)})" if overrides else ""
        raise ConfigError(f"{config_file}{origin}: {problems}") from exc


def apply_env_overrides(raw: dict[str, Any], env: dict[str, str] | os._Environ) -> list[str]:
    """Write HHCAST_A__B=value into raw['a']['b'] (value parsed as YAML); return names used."""
    used = []
    if not isinstance(raw.get("warehouse"), dict):  # `warehouse: <path>` is the short form
        raw["warehouse"] = {} if raw.get("warehouse") is None else {"path": raw["warehouse"]}
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__")]
        node = raw
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: '{key}' is not a section, it cannot hold '{keys[-1]}'")
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            parsed = value
        # Paths and URIs stay strings even when YAML would read them as something else.
        if keys == ["warehouse"]:  # HHCAST_WAREHOUSE names the file, as before the section
            node["warehouse"]["path"] = value
        else:
            node[keys[-1]] = value if keys[-1] in {"landing", "lake", "path", "replica"} else parsed
        used.append(name)
    return used
