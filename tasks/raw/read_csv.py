"""Read a CSV export into a grid of text cells, numbered by the line a text editor shows."""

from __future__ import annotations

import csv
import io
import re

import polars as pl

from tasks.raw.read_errors import UnreadableFile

_CONTROL = [chr(c) for c in range(32) if chr(c) not in "\t\n\r"] + ["\x7f"]
# An opening quote, the field's text with "" for a quote, and the closing quote if there is one.
_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*("?)')


def decode(name: str, content: bytes, encodings: list[str], source: str) -> tuple[str, str]:
    """The text of a CSV export and the first of `encodings` that decodes all of it."""
    at = content.find(b"\x00")  # anywhere: a NUL past the first block would land in a cell
    if at >= 0:
        raise UnreadableFile(
            f"{name}: holds NUL bytes (the first at byte {at:,}), so it is not a text CSV "
            "(UTF-16, or a binary file renamed to .csv?); save it as CSV in UTF-8 or Latin-1"
        )
    for encoding in encodings:
        try:
            return content.decode(encoding).lstrip("\ufeff"), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(
        f"{name}: cannot be decoded as any of {', '.join(encodings)}; save it as UTF-8, or add "
        f"its encoding to sources.{source}.encodings in hhcast.yaml"
    )


def csv_grid(name: str, text: str, delimiter: str) -> pl.DataFrame:
    """Text columns c0, c1, ... and `source_row`, the line on which each record starts."""
    if "\r" in text and "\n" not in text:
        # Classic Mac line endings: polars knows only \n and \r\n, and would read one line.
        text = text.replace("\r", "\n")
    try:
        grid = pl.read_csv(
            text.encode("utf-8"),
            has_header=False,
            infer_schema=False,
            separator=delimiter,
        )
    except pl.exceptions.PolarsError as exc:
        raise UnreadableFile(f"{name}: malformed CSV{_diagnosis(text, delimiter, exc)}") from exc
    grid = grid.rename({c: f"c{i}" for i, c in enumerate(grid.columns)})
    return grid.with_columns(source_row=_start_lines(grid, text))


def _start_lines(grid: pl.DataFrame, text: str) -> pl.Expr:
    """The line each record starts on: its position, plus the line breaks quoted before it."""
    position = pl.int_range(1, pl.len() + 1, dtype=pl.Int32)
    if '"' not in text:  # most files: no quoted field, so one record per line
        return position
    breaks = pl.sum_horizontal(pl.col(c).str.count_matches("\n").fill_null(0) for c in grid.columns)
    return position + breaks.cum_sum().shift(1, fill_value=0).cast(pl.Int32)


def _diagnosis(text: str, delimiter: str, exc: Exception) -> str:
    """Where and why polars gave up, in words a person can act on (polars quotes kilobytes)."""
    head = text[:65536]
    if sum(head.count(c) for c in _CONTROL) > len(head) / 100:
        return (
            ": it holds binary data (control characters), not text; is it a CSV export at all? "
            "Remove it from landing, or export the data again as CSV"
        )
    line = unterminated_quote_line(text)
    if line is not None:
        return (
            f': a quote (") opens a field on line {line} and is never closed, so the rest of '
            "the file reads as one value; close or remove it, or re-export the file"
        )
    line = first_ragged_line(text, delimiter)
    where = f" at line {line}" if line else ""
    cause = " ".join(str(exc).split())[:160]
    return (
        f"{where} ({cause}); a value containing '{delimiter}' must be quoted, fix or re-export "
        "the file"
    )


def unterminated_quote_line(text: str) -> int | None:
    """The line on which a quoted field opens that no quote closes, if one does."""
    for quoted in _QUOTED.finditer(text):
        if not quoted.group(1):
            return text.count("\n", 0, quoted.start()) + 1
    return None


def first_ragged_line(text: str, delimiter: str) -> int | None:
    """The first line holding more fields than the first, if one does (None if it cannot say)."""
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    width = None
    try:
        for row in rows:
            if row and width is None:
                width = len(row)
            elif row and len(row) > width:
                return rows.line_num
    except csv.Error:  # what polars could not read may not read here either
        return None
    return None


def other_delimiter(lines: list[str], delimiter: str, headers: list[set[str]]) -> str | None:
    """The usual delimiter other than `delimiter` that splits one of `lines` into a header."""
    for candidate in (";", "\t", ",", "|"):
        if candidate == delimiter:
            continue
        for line in lines:
            cells = {" ".join(c.strip('"').split()).casefold() for c in line.split(candidate)}
            if any(wanted <= cells for wanted in headers):
                return candidate
    return None
