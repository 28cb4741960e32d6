"""Feature drift: how far a window of weeks lies from the champion's training weeks.

Three statistics per feature, each against a threshold calibrated on the reference itself:
the same statistic over every run of `window` consecutive reference weeks, compared with the
reference weeks before it, gives the spread a window of that length shows in ordinary times; a
current window beyond mean + `warn_sd` (`alert_sd`) standard deviations of it, and above the
configured floor, warns (alerts). NannyML calibrates its univariate drift thresholds the same
way. Guessed fixed thresholds do not survive features that trend, such as the fleet's age.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

STATISTICS = ("psi", "wasserstein", "ks")
PSI_BINS = 10
MAX_WINDOWS = 100  # reference windows a calibration measures at most
_EPSILON = 1e-4  # an empty bin's share, so the PSI's log stays finite


def psi(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """Population stability index over the reference's quantile bins."""
    # Quantile edges, interpolated as np.quantile does (which costs ten times this).
    ordered = np.sort(reference)
    at = np.linspace(0, len(ordered) - 1, bins + 1)
    below = np.floor(at).astype(int)
    above = np.minimum(below + 1, len(ordered) - 1)
    edges = np.unique(ordered[below] + (at - below) * (ordered[above] - ordered[below]))
    if len(edges) < 2:  # a constant reference: any other value is all the drift there is
        return 0.0 if np.all(current == reference[0]) else math.inf
    inner = edges[1:-1]
    expected = np.bincount(
        np.searchsorted(inner, reference, side="right"), minlength=len(edges) - 1
    )
    actual = np.bincount(np.searchsorted(inner, current, side="right"), minlength=len(edges) - 1)
    expected = np.maximum(expected / expected.sum(), _EPSILON)
    actual = np.maximum(actual / actual.sum(), _EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _cdfs(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both empirical CDFs on the merged sorted values (right-continuous), and those values."""
    a, b = np.sort(reference), np.sort(current)
    merged = np.concatenate([a, b])
    merged.sort(kind="mergesort")
    return (
        np.searchsorted(a, merged, side="right") / len(a),
        np.searchsorted(b, merged, side="right") / len(b),
        merged,
    )


def scaled_wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """The Wasserstein (earth mover's) distance in units of the reference's standard deviation.

    The area between the two CDFs (what scipy.stats.wasserstein_distance computes, without
    its overhead, which a calibration pays a few hundred times per feature).
    """
    ref_cdf, cur_cdf, merged = _cdfs(reference, current)
    distance = float(np.sum(np.abs(ref_cdf - cur_cdf)[:-1] * np.diff(merged)))
    spread = float(np.std(reference))
    if spread == 0:
        return 0.0 if distance == 0 else math.inf
    return distance / spread


def ks(reference: np.ndarray, current: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic (largest gap between the two CDFs)."""
    ref_cdf, cur_cdf, _ = _cdfs(reference, current)
    return float(np.max(np.abs(ref_cdf - cur_cdf)))


MEASURES = {"psi": psi, "wasserstein": scaled_wasserstein, "ks": ks}


@dataclass(frozen=True)
class Threshold:
    """Where a statistic starts to warn and to alert, and what the calibration saw."""

    warn: float
    alert: float
    mean: float
    sd: float
    windows: int  # reference windows the calibration measured


def calibrate(
    reference: np.ndarray, statistic: str, window: int, warn_sd: float, alert_sd: float,
    floor: float,
) -> Threshold:  # fmt: skip
    """Thresholds from the statistic of every `window`-week run inside the reference against
    the reference weeks before it.

    Against the weeks before it, not the whole reference: a current window is compared with
    the past, so a calibration window is too. A feature that trends (the fleet's age) then
    calibrates to the drift that moving forward in time always shows, and only a break in
    it alerts. The first runs start once `window` x 2 (at least 26) weeks of past exist.
    """
    measure = MEASURES[statistic]
    first = max(2 * window, 26)
    # Every run of `window` weeks, or about MAX_WINDOWS evenly spaced ones on a long reference.
    stride = max(1, (len(reference) - window - first) // MAX_WINDOWS)
    starts = range(first, len(reference) - window + 1, stride)
    values = np.array(
        [measure(reference[:at], reference[at : at + window]) for at in starts], dtype=float
    )
    values = values[np.isfinite(values)]
    if len(values) < 2:  # too short a reference to calibrate: the floor alone decides
        return Threshold(floor, floor, math.nan, math.nan, len(values))
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    return Threshold(
        warn=max(floor, mean + warn_sd * sd),
        alert=max(floor, mean + alert_sd * sd),
        mean=mean,
        sd=sd,
        windows=len(values),
    )


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift in one window: each statistic, its thresholds and the verdict."""

    feature: str
    window: str  # e.g. "last_13_weeks", "planned"
    n_reference: int
    n_current: int
    values: dict[str, float]
    thresholds: dict[str, Threshold]
    status: str  # ok | warn | alert


def feature_drift(
    feature: str,
    window: str,
    reference: np.ndarray,
    current: np.ndarray,
    *,
    warn_sd: float,
    alert_sd: float,
    floors: dict[str, float],
) -> FeatureDrift:
    """The drift of `current` from `reference`, calibrated for windows of its length."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    reference, current = reference[np.isfinite(reference)], current[np.isfinite(current)]
    values, thresholds, status = {}, {}, "ok"
    if len(reference) == 0 or len(current) == 0:
        return FeatureDrift(feature, window, len(reference), len(current), {}, {}, "ok")
    for name in STATISTICS:
        value = MEASURES[name](reference, current)
        threshold = calibrate(reference, name, len(current), warn_sd, alert_sd, floors[name])
        values[name], thresholds[name] = value, threshold
        if value > threshold.alert:
            status = "alert"
        elif value > threshold.warn and status == "ok":
            status = "warn"
    return FeatureDrift(feature, window, len(reference), len(current), values, thresholds, status)
