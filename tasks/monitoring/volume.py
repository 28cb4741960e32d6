"""Volume checks: are there as many aircraft-days and work items a week as training saw?

A week with far fewer rows than any training week usually means a delivery is missing part of
the fleet (an export cut short, a station not sent); far more, an export loaded twice under
different names or a new fleet folded in. Either way its HH and its forecast are not what the
model knows. Each measure of each window's weeks is compared with the range of the champion's
latest training weeks widened by a margin (a growing fleet flies a few per cent more each
year, and that is no anomaly); weeks outside it are listed.
"""

from __future__ import annotations

import polars as pl

MEASURES = {"aircraft_days": "acft", "work_items": "work_items"}


def volume_checks(
    reference: pl.DataFrame, windows: dict[str, pl.DataFrame], margin: float = 0.0
) -> list[dict]:
    """Per window and measure: the weeks' range, the reference's widened by `margin` (a share
    of it either way), and the weeks outside it."""
    rows = []
    for window_name, frame in windows.items():
        for measure, column in MEASURES.items():
            if column not in frame.columns or column not in reference.columns or frame.is_empty():
                continue
            low, high = reference[column].min(), reference[column].max()
            if low is None:
                continue
            low, high = float(low) * (1 - margin), float(high) * (1 + margin)
            outside = frame.filter((pl.col(column) < low) | (pl.col(column) > high))
            rows.append(
                {"window_name": window_name, "measure": measure, "n_weeks": frame.height,
                 "current_min": float(frame[column].min()),
                 "current_max": float(frame[column].max()),
                 "reference_min": float(low), "reference_max": float(high),
                 "weeks_outside": outside.height,
                 "outside_weeks": [str(w) for w in outside["week_start"].to_list()],
                 "status": "outside" if outside.height else "ok"}
            )  # fmt: skip
    return rows
