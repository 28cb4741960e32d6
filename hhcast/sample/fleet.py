"""A vectorised simulation of daily flying per aircraft and of the unscheduled HH it causes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from hhcast.sample.catalog import OTHER_TYPES, REGISTRATION_PREFIX, STUDIED_TYPE
from hhcast.sample.presets import Preset

IN_SERVICE_AT_START = 0.4
# Deliveries land in the first 95% of the span so that every aircraft flies for a while.
DELIVERY_WINDOW = 0.95
USED_DELIVERY_SHARE = 0.4
USED_TAH_HOURS = (10_000.0, 40_000.0)
SECTOR_HOURS = (1.6, 2.0)
FLIGHTS_PER_DAY = (3.8, 5.0)
SINGLE_FLIGHT_SHARE = 0.05
MAX_FLIGHTS = 8
# Monday first; Fridays and Sundays are busy, Saturdays quiet.
WEEKDAY_FLIGHTS = np.array([1.0, 0.97, 0.97, 1.0, 1.06, 0.92, 1.03])
WEEKDAY_SECTOR = np.array([1.0, 0.99, 0.99, 1.0, 1.02, 0.97, 1.01])
# Together the two amplitudes give the ±15% annual swing in block hours (peak in January).
SEASON_FLIGHTS, SEASON_SECTOR = 0.08, 0.07
DOWNTIME_SHARE = 0.065
DOWNTIME_DAYS = (2, 20)
SECTOR_SPREAD = 0.05  # day-to-day log spread of an aircraft's sector length


@dataclass(frozen=True)
class Workload:
    """Expected counted HH of one aircraft-day, linear in that day's utilisation."""

    base: float
    per_block_hour: float
    per_cycle: float
    per_thousand_tah: float
    grounded: float  # a day in the hangar with no utilisation row still yields findings


WORKLOAD: dict[str, Workload] = {
    "B737NG": Workload(0.40, 0.20, 0.15, 0.015, 1.0),
    "A320": Workload(0.25, 0.12, 0.18, 0.012, 0.8),
    "E190": Workload(0.20, 0.14, 0.20, 0.010, 0.7),
}


@dataclass(frozen=True)
class Fleet:
    """Every aircraft's daily utilisation over the whole preset span, as aircraft x day grids."""

    days: np.ndarray  # (D,) datetime64[D]
    registrations: np.ndarray  # (N,) str, in delivery order within each type
    types: np.ndarray  # (N,) str
    in_service: np.ndarray  # (N, D) bool
    flights: np.ndarray  # (N, D) flights = cycles; 0 where no utilisation row exists
    block_minutes: np.ndarray  # (N, D)
    tah_minutes: np.ndarray  # (N, D) total hours since new at the end of the day, in minutes
    tac: np.ndarray  # (N, D) total cycles since new at the end of the day
    # What each aircraft usually flies, kept so the world can be flown on past its span.
    entry: np.ndarray  # (N,) index of the day it enters service (0: in service from the start)
    flights_per_day: np.ndarray  # (N,) mean daily flights before season and weekday
    sector_hours: np.ndarray  # (N,) mean sector length before season and weekday
    downtime: np.ndarray  # (B, 3) aircraft, first day, stop day (exclusive, may pass the span)

    @property
    def flying(self) -> np.ndarray:
        """Aircraft-days that have a utilisation row."""
        return self.flights > 0

    @property
    def studied(self) -> np.ndarray:
        """Aircraft of the type under study."""
        return self.types == STUDIED_TYPE


def simulate_fleet(preset: Preset, seed: int) -> Fleet:
    """Deliveries, daily flights, block hours, downtime and running totals for a preset's fleet."""
    days = np.arange(np.datetime64(preset.start, "D"), np.datetime64(preset.end, "D") + 1)
    n_days = days.size
    rng = np.random.default_rng([seed, 1])
    types, registrations, entry = _deliveries(preset, n_days, rng)
    n = types.size

    used = (entry == 0) | (rng.random(n) < USED_DELIVERY_SHARE)
    sector = rng.uniform(*SECTOR_HOURS, n)
    tah0 = np.where(used, np.rint(rng.uniform(*USED_TAH_HOURS, n) * 60), 0).astype(np.int64)
    tac0 = np.rint(tah0 / 60 / sector * rng.uniform(0.95, 1.05, n)).astype(np.int64)
    in_service = np.arange(n_days)[None, :] >= entry[:, None]

    rng = np.random.default_rng([seed, 2])
    per_day = rng.uniform(*FLIGHTS_PER_DAY, n)
    mean_flights = usual_flights(per_day, days)
    flights = np.clip(np.rint(mean_flights + rng.normal(0, 1.0, (n, n_days))), 1, MAX_FLIGHTS)
    flights[rng.random((n, n_days)) < SINGLE_FLIGHT_SHARE] = 1
    sector_minutes = usual_sector_minutes(sector, days) * np.exp(
        rng.normal(0, SECTOR_SPREAD, (n, n_days))
    )
    minutes = np.rint(flights * sector_minutes)

    downtime = _downtime_blocks(n, n_days, np.random.default_rng([seed, 3]))
    flying = in_service & ~downtime_mask(downtime, n, 0, n_days)
    flights = np.where(flying, flights, 0).astype(np.int16)
    minutes = np.where(flying, minutes, 0).astype(np.int32)
    return Fleet(
        days=days,
        registrations=registrations,
        types=types,
        in_service=in_service,
        flights=flights,
        block_minutes=minutes,
        tah_minutes=tah0[:, None] + np.cumsum(minutes, axis=1, dtype=np.int64),
        tac=tac0[:, None] + np.cumsum(flights, axis=1, dtype=np.int64),
        entry=entry,
        flights_per_day=per_day,
        sector_hours=sector,
        downtime=downtime,
    )


def usual_flights(per_day: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Mean flights of each aircraft (N,) on each day (D,): its own rate, season and weekday."""
    weekday, season = _calendar(days)
    return per_day[:, None] * (1 + SEASON_FLIGHTS * season) * WEEKDAY_FLIGHTS[weekday]


def usual_sector_minutes(sector: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Mean sector length in minutes of each aircraft (N,) on each day (D,)."""
    weekday, season = _calendar(days)
    return 60 * sector[:, None] * (1 + SEASON_SECTOR * season) * WEEKDAY_SECTOR[weekday]


def downtime_mask(blocks: np.ndarray, n: int, first_day: int, n_days: int) -> np.ndarray:
    """Aircraft-days (n x n_days, from day index `first_day`) inside one of the blocks."""
    first = np.clip(blocks[:, 1] - first_day, 0, n_days)
    stop = np.clip(blocks[:, 2] - first_day, 0, n_days)
    change = np.zeros((n, n_days + 1), np.int32)
    np.add.at(change, (blocks[:, 0], first), 1)
    np.add.at(change, (blocks[:, 0], stop), -1)
    return np.cumsum(change[:, :n_days], axis=1) > 0


def _calendar(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekday (Monday 0) and the seasonal cosine (peak mid-January) of each day."""
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    day_of_year = (days - days.astype("datetime64[Y]")).astype(np.int64) + 1
    return weekday, np.cos(2 * np.pi * (day_of_year - 15) / 365.25)


def expected_hh(fleet: Fleet, drift_from: date | None, drift_factor: float) -> np.ndarray:
    """Expected counted HH per aircraft-day (N x D), before any noise; 0 before delivery.

    From `drift_from` on, each block hour causes `drift_factor` times its usual work, so a
    model trained on earlier weeks under-forecasts (or over-forecasts) the later ones.
    """
    drift = np.ones(fleet.days.size)
    if drift_from is not None:
        drift[fleet.days >= np.datetime64(drift_from, "D")] = drift_factor
    by_type = [WORKLOAD[t] for t in fleet.types]

    def coefficient(field: str) -> np.ndarray:
        return np.array([getattr(w, field) for w in by_type])[:, None]

    flown = (
        coefficient("base")
        + coefficient("per_block_hour") * (fleet.block_minutes / 60) * drift
        + coefficient("per_cycle") * fleet.flights
        + coefficient("per_thousand_tah") * (fleet.tah_minutes / 60 / 1000)
    )
    return np.where(fleet.flying, flown, np.where(fleet.in_service, coefficient("grounded"), 0.0))


def _deliveries(
    preset: Preset, n_days: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Type, registration and delivery day of every aircraft, registrations in delivery order."""
    counts = {STUDIED_TYPE: preset.studied_aircraft}
    remaining = preset.other_aircraft
    for i, (other, share) in enumerate(OTHER_TYPES.items()):
        last = i == len(OTHER_TYPES) - 1
        counts[other] = remaining if last else round(preset.other_aircraft * share)
        remaining -= counts[other]
    types, registrations, entry = [], [], []
    for aircraft_type, count in counts.items():
        if count > 26 * 26:
            raise ValueError(
                f"preset {preset.name!r}: {count} {aircraft_type} aircraft, but registrations "
                f"{REGISTRATION_PREFIX[aircraft_type]}AA..ZZ hold at most {26 * 26}"
            )
        at_start = round(count * IN_SERVICE_AT_START)
        later = np.sort(rng.integers(1, max(2, int(n_days * DELIVERY_WINDOW)), count - at_start))
        entry.append(np.concatenate([np.zeros(at_start, np.int64), later]))
        types += [aircraft_type] * count
        registrations += [
            REGISTRATION_PREFIX[aircraft_type] + chr(65 + i // 26) + chr(65 + i % 26)
            for i in range(count)
        ]
    return np.array(types), np.array(registrations), np.concatenate(entry)


def _downtime_blocks(n: int, n_days: int, rng: np.random.Generator) -> np.ndarray:
    """Blocks of days in the hangar (checks, AOG): aircraft, first day, stop day (exclusive).

    A block may run past the span; the mask cuts it there and the world's extension resumes it.
    """
    mean_block = sum(DOWNTIME_DAYS) / 2
    blocks = rng.poisson(n_days * DOWNTIME_SHARE / mean_block, n)
    aircraft = np.repeat(np.arange(n), blocks)
    first = rng.integers(0, n_days, aircraft.size)
    stop = first + rng.integers(DOWNTIME_DAYS[0], DOWNTIME_DAYS[1] + 1, aircraft.size)
    return np.stack([aircraft, first, stop], axis=1).astype(np.int64)
