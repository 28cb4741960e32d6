"""The simulated world flown on past its preset's end, so that plans can look beyond it.

Nothing inside the span changes. Each later day draws from a stream keyed by its date, and the
deliveries after the span are fixed for years ahead, so flying the world further never changes
a day already flown: a plan for a week reads the same whichever delivery wrote it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from hhcast.sample.catalog import REGISTRATION_PREFIX
from hhcast.sample.fleet import (
    DELIVERY_WINDOW,
    DOWNTIME_DAYS,
    DOWNTIME_SHARE,
    FLIGHTS_PER_DAY,
    MAX_FLIGHTS,
    SECTOR_HOURS,
    SECTOR_SPREAD,
    SINGLE_FLIGHT_SHARE,
    USED_DELIVERY_SHARE,
    USED_TAH_HOURS,
    Fleet,
    downtime_mask,
    usual_flights,
    usual_sector_minutes,
)

DAY_STREAM, DELIVERY_STREAM = 50, 51
# Deliveries after the span are drawn once for this many days, whatever is flown of them.
DELIVERY_HORIZON_DAYS = 5 * 365
MAX_REGISTRATIONS = 26 * 26


def extend_fleet(fleet: Fleet, seed: int, last_day: date) -> Fleet:
    """The fleet with its later deliveries, flown on to `last_day` (kept as is before it).

    The later deliveries are always added, as aircraft not yet in service, so that every plan
    of one preset and seed sees the same aircraft, however far the world is flown.
    """
    fleet = _with_later_deliveries(fleet, seed)
    span_days = fleet.days.size
    extra = int((np.datetime64(last_day, "D") - fleet.days[-1]).astype(np.int64))
    if extra <= 0:
        return fleet
    n = fleet.types.size
    days = fleet.days[-1] + np.arange(1, extra + 1)
    draws = [np.random.default_rng([seed, DAY_STREAM, int(day)]) for day in days.astype(np.int64)]
    flight_noise = np.stack([rng.normal(0, 1.0, n) for rng in draws], axis=1)
    single = np.stack([rng.random(n) for rng in draws], axis=1) < SINGLE_FLIGHT_SHARE
    sector_noise = np.stack([rng.normal(0, SECTOR_SPREAD, n) for rng in draws], axis=1)
    starts = np.stack([rng.random(n) for rng in draws], axis=1)
    lengths = np.stack(
        [rng.integers(DOWNTIME_DAYS[0], DOWNTIME_DAYS[1] + 1, n) for rng in draws], axis=1
    )

    flights = np.clip(
        np.rint(usual_flights(fleet.flights_per_day, days) + flight_noise), 1, MAX_FLIGHTS
    )
    flights[single] = 1
    minutes = np.rint(
        flights * usual_sector_minutes(fleet.sector_hours, days) * np.exp(sector_noise)
    )
    # A new block starts on a day at the rate that gives the span its share of downtime.
    aircraft, offset = np.nonzero(starts < DOWNTIME_SHARE / (sum(DOWNTIME_DAYS) / 2))
    first = span_days + offset
    new_blocks = np.stack([aircraft, first, first + lengths[aircraft, offset]], axis=1)
    blocks = np.concatenate([fleet.downtime, new_blocks.astype(np.int64)])
    in_service = (span_days + np.arange(extra))[None, :] >= fleet.entry[:, None]
    flying = in_service & ~downtime_mask(blocks, n, span_days, extra)
    flights = np.where(flying, flights, 0).astype(np.int16)
    minutes = np.where(flying, minutes, 0).astype(np.int32)
    return replace(
        fleet,
        days=np.concatenate([fleet.days, days]),
        in_service=np.concatenate([fleet.in_service, in_service], axis=1),
        flights=np.concatenate([fleet.flights, flights], axis=1),
        block_minutes=np.concatenate([fleet.block_minutes, minutes], axis=1),
        tah_minutes=np.concatenate(
            [fleet.tah_minutes, fleet.tah_minutes[:, -1:] + np.cumsum(minutes, axis=1)], axis=1
        ),
        tac=np.concatenate([fleet.tac, fleet.tac[:, -1:] + np.cumsum(flights, axis=1)], axis=1),
        downtime=blocks,
    )


def _with_later_deliveries(fleet: Fleet, seed: int) -> Fleet:
    """The fleet plus the aircraft delivered after its span, at each type's historical rate."""
    rng = np.random.default_rng([seed, DELIVERY_STREAM])
    span_days = fleet.days.size
    types, registrations, entry = [], [], []
    for aircraft_type in dict.fromkeys(fleet.types.tolist()):
        of_type = fleet.types == aircraft_type
        later = int(of_type.sum() - fleet.in_service[of_type, 0].sum())
        rate = later / (DELIVERY_WINDOW * span_days)
        count = rng.poisson(rate * DELIVERY_HORIZON_DAYS)
        days = np.sort(rng.integers(1, DELIVERY_HORIZON_DAYS + 1, count))
        numbers = int(of_type.sum()) + np.arange(count)
        keep = numbers < MAX_REGISTRATIONS  # a full register takes no more aircraft
        types += [aircraft_type] * int(keep.sum())
        registrations += [
            REGISTRATION_PREFIX[aircraft_type] + chr(65 + i // 26) + chr(65 + i % 26)
            for i in numbers[keep]
        ]
        entry.append(span_days - 1 + days[keep])
    m = len(types)
    used = rng.random(m) < USED_DELIVERY_SHARE
    sector = rng.uniform(*SECTOR_HOURS, m)
    per_day = rng.uniform(*FLIGHTS_PER_DAY, m)
    tah0 = np.where(used, np.rint(rng.uniform(*USED_TAH_HOURS, m) * 60), 0).astype(np.int64)
    tac0 = np.rint(tah0 / 60 / sector * rng.uniform(0.95, 1.05, m)).astype(np.int64)
    zeros = np.zeros((m, span_days), np.int64)
    return replace(
        fleet,
        registrations=np.concatenate([fleet.registrations, np.array(registrations, dtype=str)]),
        types=np.concatenate([fleet.types, np.array(types, dtype=str)]),
        in_service=np.concatenate([fleet.in_service, zeros.astype(bool)]),
        flights=np.concatenate([fleet.flights, zeros.astype(np.int16)]),
        block_minutes=np.concatenate([fleet.block_minutes, zeros.astype(np.int32)]),
        tah_minutes=np.concatenate([fleet.tah_minutes, zeros + tah0[:, None]]),
        tac=np.concatenate([fleet.tac, zeros + tac0[:, None]]),
        flights_per_day=np.concatenate([fleet.flights_per_day, per_day]),
        sector_hours=np.concatenate([fleet.sector_hours, sector]),
        entry=np.concatenate([fleet.entry, *entry]).astype(np.int64),
    )
