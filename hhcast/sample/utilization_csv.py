"""The monthly aircraft-utilisation CSV, with the encodings and text formats of real exports.

A flight plan is written by the same code: the scheduling system's export has the same text
formats, without the running totals (TAH, TAC) nobody knows ahead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hhcast.sample.catalog import REMARKS
from hhcast.sample.fleet import Fleet

HEADER = ("Dep. Date", "A/C", "AC-Type", "# per Day", "Hours", "Cycles", "TAH", "TAC", "Remarks")
PLACEHOLDER_SHARE = 0.002
PADDED_HOURS_SHARE = 0.2
BLANK_SINGLE_CYCLE_SHARE = 0.6  # of rows whose cycles is exactly 1, so about 3% of all rows
REMARK_SHARE = 0.02


def utilization_rows(fleet: Fleet, seed: int, stream: tuple[int, ...] = (40,)) -> pl.DataFrame:
    """Every utilisation row of the whole span in export order (day, then registration).

    Style draws come from the fleet and `stream` alone, so a row reads the same in every
    delivery; a flight plan passes its issue's own stream.
    """
    aircraft_by_day = np.argsort(fleet.registrations, kind="stable")
    flying = fleet.flying[aircraft_by_day].T
    day, position = np.nonzero(flying)
    aircraft = aircraft_by_day[position]
    draws = np.random.default_rng([seed, *stream]).random((day.size, 4))
    return pl.DataFrame(
        {
            "dep_date": fleet.days[day],
            "registration": fleet.registrations.astype(object)[aircraft],
            "aircraft_type": fleet.types.astype(object)[aircraft],
            "flights": fleet.flights[aircraft, day].astype(np.int32),
            "block_minutes": fleet.block_minutes[aircraft, day].astype(np.int64),
            "tah_minutes": fleet.tah_minutes[aircraft, day],
            "tac": fleet.tac[aircraft, day],
            "padded_style": draws[:, 0],
            "cycles_style": draws[:, 1],
            "remark_style": draws[:, 2],
            "rare_style": draws[:, 3],
        },
        schema_overrides={"registration": pl.String, "aircraft_type": pl.String},
    )


def write_utilization_csv(
    path: Path,
    rows: pl.DataFrame,
    encoding: str,
    newline: str,
    header: tuple[str, ...] = HEADER,
    remarks: tuple[str, ...] = REMARKS,
) -> tuple[int, list[dict]]:
    """Write one file; return its data rows and corrupted cells (CSV line numbers).

    `rows` comes from `utilization_rows` (or, for a flight plan, has its columns but the
    totals), with `flaw_field`/`flaw_value` set on the rows to spoil. `header` picks the
    columns, all of them of HEADER. At least one placeholder row and one accented remark land
    in every file.
    """
    rare = rows["rare_style"].to_numpy()
    placeholder_after = rare < PLACEHOLDER_SHARE
    if not placeholder_after.any():
        placeholder_after[rare.argmin()] = True
    remark_style = rows["remark_style"].to_numpy()
    chosen = (remark_style / REMARK_SHARE * len(remarks)).astype(np.int64)
    remark = np.where(remark_style < REMARK_SHARE, chosen, -1)
    accented = [i for i, text in enumerate(remarks) if not text.isascii()]
    if not np.isin(remark, accented).any():
        remark[remark_style.argmin()] = accented[0]

    cells = {
        "Dep. Date": _spoiled("dep_date", pl.col("dep_date").dt.strftime("%Y.%m.%d")),
        "A/C": pl.col("registration"),
        "AC-Type": pl.col("aircraft_type"),
        "# per Day": pl.col("flights").cast(pl.String),
        "Hours": _spoiled("block_minutes", _clock("block_minutes", padded=True)),
        "Cycles": pl.when(
            (pl.col("flights") == 1) & (pl.col("cycles_style") < BLANK_SINGLE_CYCLE_SHARE)
        )
        .then(pl.lit(""))
        .otherwise(pl.col("flights").cast(pl.String)),
        "TAH": _clock("tah_minutes", padded=False),
        "TAC": _thousands("tac"),
        "Remarks": pl.col("remark").replace_strict(
            dict(enumerate(_quoted(remarks))), default="", return_dtype=pl.String
        ),
    }
    lines = rows.with_columns(placeholder_after=placeholder_after, remark=remark).select(
        pl.concat_str([cells[name] for name in header], separator=",").alias("line"),
        pl.col("placeholder_after"),
        pl.col("flaw_field"),
        pl.col("flaw_value"),
    )
    placeholder = "0 " + "," * (len(header) - 1)
    blocks = lines.select(
        pl.when(pl.col("placeholder_after"))
        .then(pl.col("line") + newline + placeholder)
        .otherwise(pl.col("line"))
    ).to_series()
    text = newline.join([",".join(header), *blocks.to_list()]) + newline
    path.write_bytes(text.encode(encoding))

    # CSV line numbers: header on line 1, each placeholder pushes later rows down by one.
    line_number = (
        2 + np.arange(rows.height) + np.concatenate([[0], np.cumsum(placeholder_after)[:-1]])
    )
    columns = {"dep_date": "Dep. Date", "block_minutes": "Hours"}
    flaws = lines.with_row_index().filter(pl.col("flaw_field").is_not_null())
    bad_rows = [
        {"row": int(line_number[index]), "column": columns[field], "value": value}
        for index, field, value in flaws.select("index", "flaw_field", "flaw_value").iter_rows()
    ]
    return rows.height + int(placeholder_after.sum()), bad_rows


def _spoiled(field: str, rendered: pl.Expr) -> pl.Expr:
    return pl.when(pl.col("flaw_field") == field).then(pl.col("flaw_value")).otherwise(rendered)


def _clock(column: str, padded: bool) -> pl.Expr:
    """Minutes as `H:MM`; `HH:MM` for the share of rows an export zero-pads."""
    hours = (pl.col(column) // 60).cast(pl.String)
    if padded:
        hours = (
            pl.when(pl.col("padded_style") < PADDED_HOURS_SHARE)
            .then(hours.str.zfill(2))
            .otherwise(hours)
        )
    return pl.concat_str([hours, pl.lit(":"), (pl.col(column) % 60).cast(pl.String).str.zfill(2)])


def _thousands(column: str) -> pl.Expr:
    """An integer grouped in thousands with `'` (`12'345`), as the exports write totals."""
    digits = pl.col(column).cast(pl.String).str.zfill(12)
    grouped = pl.concat_str(
        [digits.str.slice(i, 3) for i in range(0, 12, 3)], separator="'"
    ).str.strip_chars_start("0'")
    return pl.when(pl.col(column) == 0).then(pl.lit("0")).otherwise(grouped)


def _quoted(remarks: tuple[str, ...]) -> list[str]:
    return [f'"{remark}"' if "," in remark else remark for remark in remarks]
