"""Flight plans as a scheduling system issues them: the programme ahead, wrong in realistic ways.

An issue is dated on a Monday and plans every aircraft's days from that Monday on, its week 1
(horizon 1) being the week after the last complete actual week. It is what will actually be
flown with what the planners could not know yet undone: flights cancelled or added on the day,
downtime not yet planned (AOG, checks booked later, overruns), an aircraft entering service
later than planned, tails swapped, and block hours a few percent off as the programme is
re-planned. That drift is a random walk over the horizon, so each issue revises the one
before and plans for far weeks are the least right. Every draw is keyed by a day, week, block,
aircraft or issue, never by the delivery: an issue reads the same in every delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from hhcast.sample.fleet import (
    MAX_FLIGHTS,
    Fleet,
    downtime_mask,
    usual_flights,
    usual_sector_minutes,
)

MAX_PLAN_WEEKS = 52
# Decided on the day, so no issue knows them: planned flights cancelled, flights added.
CANCELLED_SHARE, EXTRA_SHARE = 0.01, 0.005
WEEK_DRIFT = 0.012  # log-sd a week's programme drifts per week of horizon, fleet-wide
AIRCRAFT_DAY_DRIFT = 0.02  # ... and each aircraft-day on top of it
PLANNED_CHECK_SHARE = 0.6  # downtime booked ahead; the rest (AOG) is known once it starts
CHECK_NOTICE_DAYS = (14, 120)
OVERRUN_SHARE, OVERRUN_DAYS = 0.3, (1, 4)  # downtime that ends later than planned
LATE_ENTRY_SHARE, LATE_ENTRY_DAYS = 0.5, (3, 35)  # deliveries that slip past the planned day
SWAP_SHARE, SWAP_SHARE_PER_WEEK, MAX_SWAP_SHARE = 0.02, 0.01, 0.12
MAX_PLANNED_MINUTES = 23 * 60
DAY_STREAM, WEEK_STREAM, BLOCK_STREAM, ENTRY_STREAM, ISSUE_STREAM, DRIFT_STREAM = range(60, 66)


@dataclass(frozen=True)
class PlanIssue:
    """One issue: its date and every aircraft's planned days, as a fleet of its own."""

    issued_at: date
    weeks: int
    # Days from `issued_at` on; TAH and TAC projected from the eve of the issue.
    planned: Fleet


def first_planned_monday(last_actual: date) -> date:
    """The Monday the newest issue plans from: the one after the last Sunday <= `last_actual`.

    Days of a partial last week are thus planned too, though already flown: the newest plan
    was issued on that Monday, before they were.
    """
    following = last_actual + timedelta(days=1)
    return following - timedelta(days=following.weekday())


def issue_dates(plan_start: date, weeks: int) -> list[date]:
    """The Mondays one delivery's issues are dated: the last `weeks` up to `plan_start`."""
    return [plan_start - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def plan_issue(world: Fleet, seed: int, issued_at: date, weeks: int) -> PlanIssue:
    """What the scheduling system issued on `issued_at` for the `weeks` weeks from it."""
    i0 = int((np.datetime64(issued_at, "D") - world.days[0]).astype(np.int64))
    i1 = i0 + 7 * weeks
    if i0 < 1 or i1 > world.days.size or not 1 <= weeks <= MAX_PLAN_WEEKS:
        raise ValueError(f"an issue of {issued_at} for {weeks} weeks lies outside the world")
    n, days = world.types.size, world.days[i0:i1]
    horizon = np.arange(i1 - i0) // 7 + 1  # of each planned day
    flying = world.flying[:, i0:i1]
    in_service = world.in_service[:, i0:i1] | _planned_early(world, seed, i0, i1)
    planned_flying = in_service & ~_planned_downtime(world, seed, i0, i1)

    usual = np.clip(np.rint(usual_flights(world.flights_per_day, days)), 1, MAX_FLIGHTS)
    usual_minutes = np.rint(usual * usual_sector_minutes(world.sector_hours, days))
    flights = np.where(flying, world.flights[:, i0:i1], usual)
    minutes = np.where(flying, world.block_minutes[:, i0:i1], usual_minutes)

    changed = np.where(flying, _changed_on_the_day(flights, days, seed), 0)
    drift = _drift(n, days, horizon, seed)

    planned_flights = np.clip(flights + changed, 1, MAX_FLIGHTS + 2)
    planned_minutes = np.clip(
        np.rint(minutes * planned_flights / flights * np.exp(drift)), 1, MAX_PLANNED_MINUTES
    )
    planned_flights = np.where(planned_flying, planned_flights, 0)
    planned_minutes = np.where(planned_flying, planned_minutes, 0)
    _swap_tails(world.types, planned_flights, planned_minutes, horizon, seed, issued_at)

    planned = replace(
        world,
        days=days,
        in_service=in_service,
        flights=planned_flights.astype(np.int16),
        block_minutes=planned_minutes.astype(np.int32),
        tah_minutes=world.tah_minutes[:, i0 - 1 : i0] + np.cumsum(planned_minutes, axis=1),
        tac=world.tac[:, i0 - 1 : i0] + np.cumsum(planned_flights, axis=1),
        downtime=np.zeros((0, 3), np.int64),
    )
    return PlanIssue(issued_at, weeks, planned)


def _changed_on_the_day(flights: np.ndarray, days: np.ndarray, seed: int) -> np.ndarray:
    """Flights planned but cancelled, less flights added, per aircraft-day of `flights` (N, D)."""
    changed = []
    for day, flown in zip(days.astype(np.int64), flights.T, strict=True):
        rng = np.random.default_rng([seed, DAY_STREAM, int(day)])
        cancelled = rng.poisson(CANCELLED_SHARE / (1 - CANCELLED_SHARE) * flown)
        changed.append(cancelled - rng.poisson(EXTRA_SHARE * flown))
    return np.stack(changed, axis=1)


def _drift(n: int, days: np.ndarray, horizon: np.ndarray, seed: int) -> np.ndarray:
    """Log-error of planned block hours (n x D): a fleet-wide walk per week, one per aircraft-day.

    Each week and each aircraft-day has one step per week of horizon; a plan made h weeks
    ahead carries the sum of the first h, so the next issue keeps all but one of them.
    """
    steps = np.stack(
        [
            np.random.default_rng([seed, DRIFT_STREAM, int(day)]).normal(0, 1, (n, MAX_PLAN_WEEKS))
            for day in days.astype(np.int64)
        ],
        axis=1,
    )
    aircraft_day = np.cumsum(steps, axis=2)[:, np.arange(days.size), horizon - 1]
    weeks = [
        np.random.default_rng([seed, WEEK_STREAM, int(monday)]).normal(0, 1, MAX_PLAN_WEEKS)
        for monday in days[::7].astype(np.int64)
    ]
    week = np.cumsum(np.stack(weeks), axis=1)[horizon[::7] - 1, horizon[::7] - 1]
    return WEEK_DRIFT * np.repeat(week, 7)[None, :] + AIRCRAFT_DAY_DRIFT * aircraft_day


def _planned_early(world: Fleet, seed: int, i0: int, i1: int) -> np.ndarray:
    """Aircraft-days an issue plans in service before the aircraft really enters service."""
    early = np.zeros((world.types.size, i1 - i0), bool)
    for aircraft in np.flatnonzero((world.entry > i0) & (world.entry < i1 + LATE_ENTRY_DAYS[1])):
        rng = np.random.default_rng([seed, ENTRY_STREAM, int(aircraft)])
        late, delay = rng.random() < LATE_ENTRY_SHARE, rng.integers(*LATE_ENTRY_DAYS, endpoint=True)
        planned_entry = world.entry[aircraft] - delay
        # Planners keep the planned day until it passes without the aircraft.
        if late and i0 < planned_entry:
            early[aircraft, max(planned_entry, i0) - i0 : world.entry[aircraft] - i0] = True
    return early


def _planned_downtime(world: Fleet, seed: int, i0: int, i1: int) -> np.ndarray:
    """The downtime an issue knows of: booked checks within notice, AOG already begun."""
    blocks = world.downtime[(world.downtime[:, 2] > i0) & (world.downtime[:, 1] < i1)]
    known = []
    for aircraft, first, stop in blocks:
        rng = np.random.default_rng([seed, BLOCK_STREAM, int(aircraft), int(first)])
        check = rng.random() < PLANNED_CHECK_SHARE
        notice = rng.integers(*CHECK_NOTICE_DAYS, endpoint=True) if check else 0
        overrun = rng.integers(*OVERRUN_DAYS, endpoint=True) if rng.random() < OVERRUN_SHARE else 0
        if i0 >= first - notice:
            known.append((aircraft, first, max(first + 1, stop - overrun)))
    return downtime_mask(np.array(known, np.int64).reshape(-1, 3), world.types.size, i0, i1 - i0)


def _swap_tails(
    types: np.ndarray,
    flights: np.ndarray,
    minutes: np.ndarray,
    horizon: np.ndarray,
    seed: int,
    issued_at: date,
) -> None:
    """Hand some aircraft-days' programme to another tail of the same type, in place.

    Tails are assigned to rotations days ahead, so the further the day, the likelier the swap.
    """
    rng = np.random.default_rng([seed, ISSUE_STREAM, issued_at.toordinal()])
    draws = rng.random((types.size, 7 * MAX_PLAN_WEEKS))[:, : horizon.size]
    share = np.minimum(SWAP_SHARE + SWAP_SHARE_PER_WEEK * (horizon - 1), MAX_SWAP_SHARE)
    for day in range(horizon.size):
        for aircraft_type in np.unique(types):
            chosen = np.flatnonzero((types == aircraft_type) & (flights[:, day] > 0))
            chosen = chosen[draws[chosen, day] < share[day]]
            chosen = chosen[np.argsort(draws[chosen, day], kind="stable")]
            pairs = chosen[: chosen.size // 2 * 2].reshape(-1, 2)
            for grid in (flights, minutes):
                grid[pairs[:, 0], day], grid[pairs[:, 1], day] = (
                    grid[pairs[:, 1], day],
                    grid[pairs[:, 0], day],
                )
