"""Drift statistics, and thresholds calibrated on the reference rather than guessed."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.monitoring.drift import calibrate, feature_drift, ks, psi, scaled_wasserstein

FLOORS = {"psi": 0.1, "wasserstein": 0.1, "ks": 0.1}


def test_identical_samples_show_no_drift():
    sample = np.arange(100, dtype=float)
    assert psi(sample, sample) == pytest.approx(0.0)
    assert scaled_wasserstein(sample, sample) == 0.0
    assert ks(sample, sample) == 0.0


def test_the_statistics_grow_with_the_shift():
    reference = np.random.default_rng(1).normal(1000, 100, 400)
    small, large = reference[:50] + 20, reference[:50] + 300
    for measure in (psi, scaled_wasserstein, ks):
        assert measure(reference, small) < measure(reference, large)
    # in units of the reference's spread: a shift by 300 HH reads 300 / sd
    shifted = scaled_wasserstein(reference, reference + 300)
    assert shifted == pytest.approx(300 / np.std(reference))


def test_a_known_psi():
    reference = np.repeat(np.arange(10, dtype=float), 10)  # ten equal bins
    current = np.repeat([0.0, 9.0], 50)  # half in the first bin, half in the last
    expected = 2 * (0.5 - 0.1) * np.log(0.5 / 0.1) + 8 * (1e-4 - 0.1) * np.log(1e-4 / 0.1)
    assert psi(reference, current) == pytest.approx(expected)


def test_thresholds_come_from_windows_of_the_same_length_against_their_past():
    reference = np.random.default_rng(2).normal(0, 1, 300)
    threshold = calibrate(reference, "ks", 13, warn_sd=2, alert_sd=3, floor=0.0)
    values = [ks(reference[:at], reference[at : at + 13]) for at in range(26, 288, 2)]
    assert threshold.windows == len(values)
    assert threshold.mean == pytest.approx(np.mean(values))
    assert threshold.alert == pytest.approx(np.mean(values) + 3 * np.std(values, ddof=1))
    assert threshold.warn < threshold.alert
    assert calibrate(reference, "ks", 13, 2, 3, floor=5.0).alert == 5.0  # the floor holds


def test_a_trending_feature_is_not_an_alert_for_moving_on_as_it_always_has():
    weeks = np.arange(400, dtype=float)
    age = 1e6 + 2500 * weeks  # the fleet ages every week
    latest = 1e6 + 2500 * np.arange(400, 413, dtype=float)  # the 13 weeks after it
    drift = feature_drift(
        "age_fleet", "last_13_weeks", age, latest, warn_sd=2, alert_sd=3, floors=FLOORS
    )
    assert drift.status == "ok"


def test_a_shifted_window_alerts_and_a_quiet_one_does_not():
    rng = np.random.default_rng(3)
    reference = rng.normal(2800, 150, 400)
    quiet = rng.normal(2800, 150, 13)
    shifted = rng.normal(2800 * 1.4, 150, 13)
    kwargs = {"warn_sd": 2, "alert_sd": 3, "floors": FLOORS}
    assert feature_drift("hours", "last_13_weeks", reference, quiet, **kwargs).status == "ok"
    alert = feature_drift("hours", "last_13_weeks", reference, shifted, **kwargs)
    assert alert.status == "alert"
    assert set(alert.values) == {"psi", "wasserstein", "ks"}
    assert alert.values["ks"] > alert.thresholds["ks"].alert


def test_a_trending_feature_that_jumps_alerts():
    age = 1e6 + 2500 * np.arange(400, dtype=float)
    jumped = 1e6 + 2500 * np.arange(400, 413, dtype=float) + 4e5  # 160 weeks of ageing at once
    drift = feature_drift(
        "age_fleet", "last_13_weeks", age, jumped, warn_sd=2, alert_sd=3, floors=FLOORS
    )
    assert drift.status == "alert"


def test_the_fast_statistics_agree_with_scipy():
    from scipy import stats

    rng = np.random.default_rng(4)
    reference, current = rng.gamma(2, 300, 400), rng.gamma(2.5, 320, 13)
    assert ks(reference, current) == pytest.approx(stats.ks_2samp(reference, current).statistic)
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert scaled_wasserstein(reference, current) == pytest.approx(expected)
