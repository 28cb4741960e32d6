"""Read a raw export (workbook or CSV) into canonically named text columns, detecting its layout.

The layout, and with it the source, is recognised from the header row, wherever it sits
under titles and blank rows, never from the file or folder name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

import polars as pl

from hhcast.config import Settings
from tasks.raw.read_csv import csv_grid, decode, other_delimiter
from tasks.raw.read_errors import UnreadableFile
from tasks.raw.read_excel import Workbook

__all__ = ["RawTable", "UnreadableFile", "read_export"]

# How far down a header is looked for, only to say where it is when it sits too low.
_HEADER_HUNT_ROWS = 10_000


@dataclass(frozen=True)
class RawTable:
    """A file's data rows as text, columns renamed to canonical names, with row numbers."""

    source: str  # key of the source in settings.sources
    layout: str
    frame: pl.DataFrame  # canonical text columns + source_row (as the file shows it)
    rows_read: int
    encoding: str | None = None


@dataclass(frozen=True)
class _Layout:
    source: str
    name: str
    headers: frozenset[str]  # normalised


def read_export(name: str, content: bytes, settings: Settings) -> RawTable:
    """Read one export; raise UnreadableFile with an actionable message if it cannot be read."""
    if not content:
        raise UnreadableFile(f"{name}: the file is empty; re-export it from the source system")
    suffix = PurePosixPath(name).suffix.lower()
    sources = [(n, s) for n, s in settings.sources.items() if suffix in s.extensions]
    if not sources:
        known = sorted({e for s in settings.sources.values() for e in s.extensions})
        raise UnreadableFile(
            f"{name}: '{suffix or 'no extension'}' is not a known export type ({', '.join(known)});"
            " remove it from landing or add its extension to a source in hhcast.yaml"
        )
    layouts = [
        _Layout(source_name, layout, frozenset(_normalise(h) for h in mapping.values()))
        for source_name, source in sources
        for layout, mapping in source.layouts.items()
    ]
    source_name, source = sources[0]
    encoding = None
    if source.format == "excel":
        book = Workbook(name, content, settings)
        grid = book.grid(0)
    else:
        text, encoding = decode(name, content, source.encodings, source_name)
        book = None
        try:
            grid = csv_grid(name, text, source.delimiter)
        except UnreadableFile:
            _refuse_other_delimiter(name, text, source_name, source.delimiter, layouts, settings)
            raise
    data = [c for c in grid.columns if c != "source_row"]
    # Wholly blank rows carry nothing; a row with any cell set is data and stays, even when
    # only columns hhcast does not use are filled (its contract will then name what is missing).
    filled = grid.select(pl.any_horizontal(pl.col(data).str.strip_chars() != "")).to_series()
    first = filled.fill_null(False).arg_true()
    start = first[0] if first.len() else 0
    window = grid.slice(start, settings.ingest.header_search_rows).select(data).iter_rows()
    found = _header_at(window, layouts)
    if found is None:
        if book is None:
            _refuse_other_delimiter(name, text, source_name, source.delimiter, layouts, settings)
        _explain_missing_header(name, grid.select(data), start, layouts, settings, book)
    at, layout = found[0] + start, found[1]
    body = grid.slice(at + 1).filter(filled.slice(at + 1))
    mapping = settings.sources[layout.source].layouts[layout.name]
    frame = _rename(body, grid.row(at), mapping)
    return RawTable(layout.source, layout.name, frame, rows_read=frame.height, encoding=encoding)


def _normalise(header: str | None) -> str:
    return " ".join((header or "").split()).casefold()


def _header_at(rows, layouts: list[_Layout]) -> tuple[int, _Layout] | None:
    """The first row holding every header of a layout (the layout with most headers wins)."""
    for row_at, row in enumerate(rows):
        cells = {_normalise(v) for v in row if v}
        matches = [layout for layout in layouts if layout.headers <= cells]
        if matches:
            return row_at, max(matches, key=lambda lay: (len(lay.headers), lay.source, lay.name))
    return None


def _refuse_other_delimiter(name, text, source_name, delimiter, layouts, settings) -> None:
    lines = text[: 1 << 20].splitlines()[: settings.ingest.header_search_rows]
    found = other_delimiter(lines, delimiter, [set(lay.headers) for lay in layouts])
    if found is not None:
        shown = {"\t": "\\t"}.get(found, found)
        raise UnreadableFile(
            f"{name}: its header is delimited by '{shown}', not '{delimiter}': set "
            f'sources.{source_name}.delimiter: "{shown}" in hhcast.yaml (it applies to every '
            "file of the source), or re-export the file with the configured delimiter"
        )


def _explain_missing_header(name, cells, start, layouts, settings, book) -> None:
    """Raise what a person needs to know when no header row sits where it is looked for."""
    searched = settings.ingest.header_search_rows
    below = _header_at(cells.slice(start, _HEADER_HUNT_ROWS).iter_rows(), layouts)
    if below is not None:
        row = start + below[0] + 1
        raise UnreadableFile(
            f"{name}: the header of layout '{below[1].name}' is on row {row}, below the "
            f"{searched} rows searched from the first filled one; remove the rows above it, or "
            f"raise ingest.header_search_rows to {row - start} or more in hhcast.yaml"
        )
    for sheet in range(1, len(book.sheet_names) if book else 0):
        other = book.grid(sheet, rows=searched + _HEADER_HUNT_ROWS).drop("source_row")
        if _header_at(other.iter_rows(), layouts) is not None:
            raise UnreadableFile(
                f"{name}: the data is on sheet '{book.sheet_names[sheet]}', not on the first "
                f"sheet ('{book.sheet_names[0]}') that hhcast reads; move that sheet first, or "
                "save it alone as a workbook, and land it again"
            )
    best = None
    for row in cells.slice(start, searched).iter_rows():
        present = {_normalise(v) for v in row if v}
        for layout in layouts:
            found, missing = len(layout.headers & present), layout.headers - present
            # the most headers found; of layouts finding as many, the one missing fewest (a
            # plan lacking Hours is a plan, not a utilisation file lacking TAH and TAC too)
            if found and (best is None or (found, -len(missing)) > (best[0], -len(best[2]))):
                best = (found, layout, missing)
    if best is None:
        raise UnreadableFile(
            f"{name}: no header row of a known layout in its first {searched} rows "
            f"(empty, or not an export hhcast knows); check the file, or add its layout to "
            "hhcast.yaml"
        )
    found, layout, missing = best
    mapping = settings.sources[layout.source].layouts[layout.name]
    missing_names = sorted(raw for raw in mapping.values() if _normalise(raw) in missing)
    raise UnreadableFile(
        f"{name}: missing required columns for layout '{layout.name}' of {layout.source}: "
        f"{', '.join(missing_names)} (found {found} of {found + len(missing)} in the best "
        f"header candidate); re-export with every column, or add this layout under "
        f"sources.{layout.source}.layouts in hhcast.yaml"
    )


def _rename(body: pl.DataFrame, header: tuple, mapping: dict[str, str]) -> pl.DataFrame:
    # The first column carrying a header name wins when an export repeats one.
    by_name: dict[str, str] = {}
    for column, value in zip(body.columns, header, strict=False):
        if column != "source_row":
            by_name.setdefault(_normalise(value), column)
    return body.select(
        *(pl.col(by_name[_normalise(raw)]).alias(canonical) for canonical, raw in mapping.items()),
        "source_row",
    )
