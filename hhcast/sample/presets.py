"""Named sizes of the simulated world: the date span it covers and how many aircraft fly in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Preset:
    """One simulated world: the whole span is always simulated, whatever range is emitted."""

    name: str
    start: date
    end: date
    studied_aircraft: int
    other_aircraft: int


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("small", date(2019, 7, 1), date(2022, 6, 30), studied_aircraft=20, other_aircraft=5),
        Preset(
            "medium", date(2016, 1, 1), date(2025, 12, 31), studied_aircraft=60, other_aircraft=15
        ),
        Preset(
            "large", date(2006, 1, 1), date(2025, 12, 31), studied_aircraft=400, other_aircraft=100
        ),
    )
}
