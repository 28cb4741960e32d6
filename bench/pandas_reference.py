"""The weekly table built the way hhcast replaces: read every export with pandas, then pandas.

Straightforward, sequential pandas over the same landing folder and the same business rules
(read from hhcast.yaml, so both sides count the same thing): the yardstick bench/transform.py
times hhcast's ingest and transform against. Unparseable cells drop their row, as hhcast's
contracts quarantine it, so the weekly HH totals of the two can be compared.
"""

from __future__ import annotations

import time
from datetime import datetime
from datetime import time as clock
from pathlib import Path

import pandas as pd

from hhcast.config import Settings, load_settings

# Excel writes a duration of a day or more as a date-time counted from its day zero.
EXCEL_DAY_ZERO = datetime(1899, 12, 31)
EXCEL_DURATION_BEFORE = datetime(1900, 3, 1)
EVENT_KEY = [
    "closing_date",
    "registration",
    "sign",
    "issue_station",
    "ata",
    "ata_description",
    "hh_planned",
    "hh_executed",
]
FLIGHT_KEY = ["dep_date", "registration", "flights", "block_hours", "cycles", "tah", "tac"]


def run(landing: Path) -> dict:
    """Read every export under `landing`, build the weekly table, and report times and totals."""
    settings = load_settings()
    started = time.perf_counter()
    events, flights = read_exports(landing, settings)
    read_seconds = time.perf_counter() - started
    weekly = weekly_table(events, flights, settings)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "read_seconds": read_seconds,
        "compute_seconds": seconds - read_seconds,
        "event_rows": len(events),
        "utilization_rows": len(flights),
        "weeks": len(weekly),
        "hh": float(weekly["hh"].sum()),
        "block_hours": float(weekly["sum_daily_hours"].sum()),
    }


def read_exports(landing: Path, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every workbook and CSV under landing, columns renamed canonically, with its file name."""
    events, flights = [], []
    for path in sorted(landing.rglob("*")):
        if path.suffix == ".xlsx":
            events.append(_read_workbook(path, settings))
        elif path.suffix == ".csv":
            try:
                frame = pd.read_csv(path, encoding="utf-8", dtype=str, keep_default_na=False)
            except UnicodeDecodeError:
                frame = pd.read_csv(path, encoding="latin-1", dtype=str, keep_default_na=False)
            layout = settings.sources["aircraft_utilization"].layouts["standard"]
            frame = frame.rename(columns={raw: name for name, raw in layout.items()})
            flights.append(frame[list(layout)].assign(source_file=path.name))
    return pd.concat(events, ignore_index=True), pd.concat(flights, ignore_index=True)


def _read_workbook(path: Path, settings: Settings) -> pd.DataFrame:
    # The header sits under an optional title and blank rows, in either layout.
    grid = pd.read_excel(path, engine="openpyxl", header=None)
    layouts = settings.sources["unscheduled_events"].layouts.values()
    for at in range(min(settings.ingest.header_search_rows, len(grid))):
        cells = {str(v).strip() for v in grid.iloc[at] if pd.notna(v)}
        for layout in layouts:
            if set(layout.values()) <= cells:
                position = {str(v).strip(): i for i, v in enumerate(grid.iloc[at])}
                body = grid.iloc[at + 1 :]
                columns = {name: body[position[raw]] for name, raw in layout.items()}
                return pd.DataFrame(columns).assign(source_file=path.name)
    raise ValueError(f"{path}: no known header row")


def hours(value: object) -> float:
    """Decimal hours from `H:MM`, `HH:MM:SS`, `1,5`, a number, or a 1900-era date-time."""
    if isinstance(value, datetime):
        if value < EXCEL_DURATION_BEFORE:
            return (value - EXCEL_DAY_ZERO).total_seconds() / 3600
        return float("nan")
    if isinstance(value, clock):
        return value.hour + value.minute / 60 + value.second / 3600
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            return sum(p / 60**i for i, p in enumerate(parts))
        return float(text.replace(",", "."))
    except ValueError:
        return float("nan")


def days(cells: pd.Series) -> pd.Series:
    """Closing dates: date cells, or `dd/mm/yyyy` text; NaT where it names no real day."""
    text = cells.map(lambda v: isinstance(v, str))
    parsed = pd.to_datetime(cells.where(~text), errors="coerce").dt.normalize()
    written = pd.to_datetime(cells[text].str.strip(), format="%d/%m/%Y", errors="coerce")
    return parsed.mask(text, written)


def _clock_hours(text: pd.Series) -> pd.Series:
    parts = text.str.strip().str.split(":", expand=True)
    return pd.to_numeric(parts[0], errors="coerce") + pd.to_numeric(parts[1], errors="coerce") / 60


def _without_overlap_copies(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    # A row repeated by overlapping exports counts as often as the one file holding it most.
    copy = frame.groupby([*key, "source_file"], dropna=False).cumcount()
    return frame.assign(copy=copy).drop_duplicates([*key, "copy"])


def clean_events(raw: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Typed studied-fleet work items, counted by DOMAIN.md's rules."""
    rules = settings.filters
    events = raw.assign(
        closing_date=days(raw["closing_date"]),
        hh_planned=raw["hh_planned"].map(hours).round(6),
        hh_executed=raw["hh_executed"].map(hours).round(6),
        ata=raw["ata"].astype(str).str.replace(r"\.0+$", "", regex=True),
    )
    events = events.dropna(subset=["closing_date", "registration", "hh_executed"])
    keep = (
        (events["aircraft_type"].str.upper() == rules.aircraft_type.upper())
        & ~events["sign"].str.upper().isin([s.upper() for s in rules.excluded_signs])
        & ~events["ata_description"]
        .fillna("")
        .str.upper()
        .isin([d.upper() for d in rules.excluded_ata_descriptions])
    )
    events = _without_overlap_copies(events[keep], EVENT_KEY)
    not_booked = events["hh_executed"] == 0
    if rules.executed_zero_falls_back_to_planned:
        return events.assign(hh=events["hh_executed"].mask(not_booked, events["hh_planned"]))
    return events.assign(hh=events["hh_executed"])


def clean_flights(raw: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Typed studied-fleet flying days, placeholder and unreadable rows out."""
    source = settings.sources["aircraft_utilization"]
    raw = raw[~raw["dep_date"].str.strip().isin(source.placeholder_dates)]
    cycles = raw["cycles"].str.replace("'", "").str.strip()
    flights = raw.assign(
        dep_date=pd.to_datetime(raw["dep_date"].str.strip(), format="%Y.%m.%d", errors="coerce"),
        flights=pd.to_numeric(raw["flights"], errors="coerce"),
        block_hours=_clock_hours(raw["block_hours"]).round(6),
        cycles=pd.to_numeric(cycles.replace("", str(source.blank_cycles)), errors="coerce"),
        tah=_clock_hours(raw["tah"]).round(6),
        tac=pd.to_numeric(raw["tac"].str.replace("'", ""), errors="coerce"),
    )
    flights = flights.dropna(subset=["dep_date", "block_hours", "tah"])
    flights = flights[
        flights["aircraft_type"].str.upper() == settings.filters.aircraft_type.upper()
    ]
    return _without_overlap_copies(flights, FLIGHT_KEY)


def weekly_table(
    raw_events: pd.DataFrame, raw_flights: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """DOMAIN.md's weekly features, on ISO weeks, from a full outer join of the daily tables."""
    events, flights = clean_events(raw_events, settings), clean_flights(raw_flights, settings)
    daily_hh = events.groupby(["closing_date", "registration"], as_index=False)["hh"].sum()
    daily_flying = flights.groupby(["dep_date", "registration"], as_index=False).agg(
        block_hours=("block_hours", "sum"), cycles=("cycles", "sum"), tah=("tah", "max")
    )
    daily = daily_flying.rename(columns={"dep_date": "day"}).merge(
        daily_hh.rename(columns={"closing_date": "day"}), on=["day", "registration"], how="outer"
    )
    daily[["block_hours", "cycles", "hh"]] = daily[["block_hours", "cycles", "hh"]].fillna(0)
    daily["week_start"] = daily["day"] - pd.to_timedelta(daily["day"].dt.weekday, unit="D")
    weekly = daily.groupby("week_start", as_index=False).agg(
        acft=("registration", "size"),
        sum_daily_hours=("block_hours", "sum"),
        age_fleet=("tah", "sum"),
        cycles=("cycles", "sum"),
        hh=("hh", "sum"),
    )
    monthly = daily.groupby(daily["day"].dt.to_period("M"))["block_hours"].sum()
    # a week belongs to the month holding its fourth day
    month = (weekly["week_start"] + pd.Timedelta(days=3)).dt.to_period("M")
    return weekly.assign(sum_uti_mensal=month.map(monthly).fillna(0))
