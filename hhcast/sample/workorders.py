"""Unscheduled work items drawn around the expected HH, plus the rows business rules exclude."""

from __future__ import annotations

import numpy as np
import polars as pl

from hhcast.sample.catalog import (
    ADMINISTRATIVE_ATA,
    ADMINISTRATIVE_DESCRIPTION,
    ATA_CHAPTERS,
    CREW_SIGNS,
    MAINTENANCE_SIGNS,
    STATIONS,
)
from hhcast.sample.fleet import Fleet

# Mechanics book whole minutes, tenths of an hour or quarter hours; each unit's size law is
# scaled so that its mean is exactly MEAN_ITEM_MINUTES.
BOOKING_UNITS: dict[int, float] = {1: 0.2, 6: 0.6, 15: 0.2}
MEAN_ITEM_MINUTES = 120
ITEM_SHAPE = 1.5  # negative-binomial shape: a gamma-like spread on the booking grid
HEAVY_SHARE = 0.004
HEAVY_MULTIPLIER = 12  # heavy items (structural repairs, engine changes) run past 24 h
MEAN_ITEM_HOURS = MEAN_ITEM_MINUTES * (1 + (HEAVY_MULTIPLIER - 1) * HEAVY_SHARE) / 60
CREW_SHARE = 0.04
ADMINISTRATIVE_SHARE = 0.02
NOT_BOOKED_SHARE = 0.03
PLANNED_SPREAD = (0.7, 1.3)

ITEM, CREW, ADMINISTRATIVE = 0, 1, 2


def work_orders(fleet: Fleet, expected: np.ndarray, seed: int) -> pl.DataFrame:
    """Every work-order row of the whole span, ordered by closing day, then aircraft.

    Counted HH (executed, or planned when executed is zero) of ITEM rows sum in expectation to
    `expected`; CREW and ADMINISTRATIVE rows come on top. Each row's randomness is drawn in row
    order, so changing the expectation from some day on leaves every earlier row unchanged.
    """
    n_aircraft = fleet.types.size
    means = expected.T / MEAN_ITEM_HOURS  # day-major, so items come out in closing-day order
    counts = _poisson_quantile(np.random.default_rng([seed, 5]).random(means.shape), means)
    cell = np.repeat(np.arange(counts.size), counts.ravel())

    # Each item may carry one excluded sibling row (a crew report, a paperwork booking).
    sibling = np.random.default_rng([seed, 6]).random(cell.size)
    sibling_kind = np.where(
        sibling < CREW_SHARE,
        CREW,
        np.where(sibling < CREW_SHARE + ADMINISTRATIVE_SHARE, ADMINISTRATIVE, ITEM),
    )
    rows_per_item = 1 + (sibling_kind > 0)
    cell = np.repeat(cell, rows_per_item)
    kind = np.zeros(cell.size, np.int8)
    kind[np.cumsum(rows_per_item)[sibling_kind > 0] - 1] = sibling_kind[sibling_kind > 0]
    n = cell.size

    draws = np.random.default_rng([seed, 7]).random((n, 7))
    units = np.array(list(BOOKING_UNITS))
    unit = units[_pick(draws[:, 0], BOOKING_UNITS.values())]
    mean_units = MEAN_ITEM_MINUTES / unit - 1
    size = np.random.default_rng([seed, 8]).negative_binomial(
        ITEM_SHAPE, ITEM_SHAPE / (ITEM_SHAPE + mean_units)
    )
    minutes = unit * (1 + size) * np.where(draws[:, 1] < HEAVY_SHARE, HEAVY_MULTIPLIER, 1)
    factor = PLANNED_SPREAD[0] + draws[:, 3] * (PLANNED_SPREAD[1] - PLANNED_SPREAD[0])
    planned = np.maximum(unit, np.rint(minutes * factor / unit) * unit)
    not_booked = draws[:, 2] < NOT_BOOKED_SHARE
    # An unbooked item keeps its true HH as planned, so the counted HH stays the item's HH.
    executed = np.where(not_booked, 0, minutes)
    planned = np.where(not_booked, minutes, planned)

    crew = kind == CREW
    administrative = kind == ADMINISTRATIVE
    sign = np.where(
        crew,
        np.array(list(CREW_SIGNS), dtype=object)[_pick(draws[:, 4], CREW_SIGNS.values())],
        np.array(list(MAINTENANCE_SIGNS), dtype=object)[
            _pick(draws[:, 4], MAINTENANCE_SIGNS.values())
        ],
    )
    chapter = np.minimum((draws[:, 5] * len(ATA_CHAPTERS)).astype(np.int64), len(ATA_CHAPTERS) - 1)
    ata = np.where(administrative, ADMINISTRATIVE_ATA, np.array(list(ATA_CHAPTERS))[chapter])
    description = np.where(
        administrative,
        ADMINISTRATIVE_DESCRIPTION,
        np.array(list(ATA_CHAPTERS.values()), dtype=object)[chapter],
    )
    station = np.array(list(STATIONS), dtype=object)[_pick(draws[:, 6], STATIONS.values())]

    day, aircraft = np.divmod(cell, n_aircraft)
    return pl.DataFrame(
        {
            "closing_date": fleet.days[day],
            "registration": fleet.registrations.astype(object)[aircraft],
            "aircraft_type": fleet.types.astype(object)[aircraft],
            "sign": sign,
            "issue_station": station,
            "ata": ata.astype(np.int16),
            "ata_description": description,
            "executed_minutes": executed.astype(np.int32),
            "planned_minutes": planned.astype(np.int32),
            "kind": kind,
        },
        schema_overrides={
            "registration": pl.String,
            "aircraft_type": pl.String,
            "sign": pl.String,
            "issue_station": pl.String,
            "ata_description": pl.String,
        },
    )


def _pick(uniform: np.ndarray, weights) -> np.ndarray:
    """Index of the weighted category each uniform draw falls in."""
    edges = np.cumsum(list(weights))
    return np.minimum(np.searchsorted(edges / edges[-1], uniform, side="right"), edges.size - 1)


def _poisson_quantile(uniform: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson counts by inverting the CDF: a cell's count moves only with that cell's mean."""
    count = np.zeros(mean.shape, np.int64)
    term = np.exp(-mean)
    cdf = term.copy()
    active = uniform > cdf
    # The CDF of a huge k rounds to below 1; stop long before that could loop forever.
    top = float(mean.max(initial=0.0))
    for k in range(1, int(top + 12 * np.sqrt(top) + 30)):
        if not active.any():
            break
        count += active
        term *= mean / k
        cdf += term
        active &= uniform > cdf
    return count
