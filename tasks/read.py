"""Read a raw export (xlsx or csv) into text columns named canonically, detecting its layout.

The layout, and with it the source, is recognised from the header row, wherever it sits
under titles and blank rows, never from the file or folder name.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from xml.etree.ElementTree import XMLPullParser

import fastexcel
import polars as pl

from hhcast.config import Settings


class UnreadableFile(ValueError):
    """The file cannot be ingested at all; the message names the cause and the fix."""


@dataclass(frozen=True)
class RawTable:
    """A file's data rows as text, columns renamed to canonical names, with row numbers."""

    source: str  # key of the source in settings.sources
    layout: str
    frame: pl.DataFrame  # canonical text columns + source_row (as the file shows it)
    rows_read: int
    encoding: str | None = None


def read_export(name: str, content: bytes, settings: Settings) -> RawTable:
    """Read one export; raise UnreadableFile with an actionable message if it cannot be read."""
    if not content:
        raise UnreadableFile(f"{name}: the file is empty; re-export it from the source system")
    suffix = PurePosixPath(name).suffix.lower()
    sources = [s for s in settings.sources.values() if suffix in s.extensions]
    if not sources:
        known = sorted({e for s in settings.sources.values() for e in s.extensions})
        raise UnreadableFile(
            f"{name}: '{suffix or 'no extension'}' is not a known export type ({', '.join(known)});"
            " remove it from landing or add its extension to a source in hhcast.yaml"
        )
    encoding = None
    if sources[0].format == "excel":
        grid, first_row = _excel_grid(name, content), _first_used_row(content)
    else:
        text, encoding = _decode(name, content, sources[0].encodings)
        grid, first_row = _csv_grid(name, text, sources[0].delimiter), 1
    header_at, source, layout = _find_header(name, grid, suffix, settings)
    body = grid.slice(header_at + 1).with_columns(
        (pl.int_range(pl.len()) + first_row + header_at + 1).cast(pl.Int32).alias("source_row")
    )
    # Wholly blank rows carry nothing; a row with any cell set is data and stays, even when
    # only columns hhcast does not use are filled (its contract will then name what is missing).
    body = body.filter(pl.any_horizontal(pl.col(grid.columns).str.strip_chars() != ""))
    frame = _rename(body, grid.row(header_at), settings.sources[source].layouts[layout])
    return RawTable(source, layout, frame, rows_read=frame.height, encoding=encoding)


def _excel_grid(name: str, content: bytes) -> pl.DataFrame:
    try:
        reader = fastexcel.read_excel(content)
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        return _unique_columns(sheet.to_polars())
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise UnreadableFile(
            f"{name}: not a readable Excel workbook ({type(exc).__name__}: {exc}); "
            "open it in Excel and save it again as .xlsx, or re-export it"
        ) from exc


def _first_used_row(content: bytes) -> int:
    """The sheet row number (1-based) of the first non-empty cell.

    calamine starts its grid there, so this is what turns grid positions into the row
    numbers a person sees in Excel.
    """
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        sheet = _first_sheet_path(book)
        with book.open(sheet) as stream:
            # Fed a few kilobytes at a time: the first cell is near the top of a sheet of
            # megabytes, and parsing stops there.
            parser = XMLPullParser(events=("end",))
            while chunk := stream.read(4096):
                parser.feed(chunk)
                for _, element in parser.read_events():
                    if element.tag.endswith("}c") and len(element):
                        match = re.match(r"[A-Z]+(\d+)", element.get("r", ""))
                        if match:
                            return int(match.group(1))
    return 1


def _first_sheet_path(book: zipfile.ZipFile) -> str:
    names = set(book.namelist())
    workbook = book.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    rid = re.search(r"<(?:\w+:)?sheet\b[^>]*\br:id=\"([^\"]+)\"", workbook)
    if rid:
        for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
            if f'Id="{rid.group(1)}"' in rel.group(0):
                target = re.search(r'Target="([^"]+)"', rel.group(0)).group(1)
                path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                if path in names:
                    return path
    return "xl/worksheets/sheet1.xml"


def _decode(name: str, content: bytes, encodings: list[str]) -> tuple[str, str]:
    if b"\x00" in content[:65536]:
        raise UnreadableFile(
            f"{name}: holds NUL bytes, so it is not a text CSV (UTF-16 or a binary file renamed "
            "to .csv?); save it as CSV in UTF-8 or Latin-1"
        )
    for encoding in encodings:
        try:
            return content.decode(encoding).lstrip("\ufeff"), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(
        f"{name}: cannot be decoded as any of {', '.join(encodings)}; save it as UTF-8, or add "
        "its encoding to sources.aircraft_utilization.encodings in hhcast.yaml"
    )


def _csv_grid(name: str, text: str, delimiter: str) -> pl.DataFrame:
    try:
        grid = pl.read_csv(
            text.encode("utf-8"),
            has_header=False,
            infer_schema=False,
            separator=delimiter,
        )
    except pl.exceptions.ComputeError as exc:
        line = _first_ragged_line(text, delimiter)
        where = f" at line {line}" if line else ""
        raise UnreadableFile(
            f"{name}: malformed CSV{where} ({exc}); a value containing '{delimiter}' must be "
            "quoted, fix or re-export the file"
        ) from exc
    return _unique_columns(grid)


def _first_ragged_line(text: str, delimiter: str) -> int | None:
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    width = None
    for row in rows:
        if row and width is None:
            width = len(row)
        elif row and len(row) != width:
            return rows.line_num
    return None


def _unique_columns(grid: pl.DataFrame) -> pl.DataFrame:
    return grid.rename({c: f"c{i}" for i, c in enumerate(grid.columns)})


def _normalise(header: str | None) -> str:
    return " ".join((header or "").split()).casefold()


def _find_header(
    name: str, grid: pl.DataFrame, suffix: str, settings: Settings
) -> tuple[int, str, str]:
    """The grid row holding a known layout's header, and which source and layout it is."""
    candidates = [
        (source_name, layout_name, {_normalise(h) for h in mapping.values()})
        for source_name, source in settings.sources.items()
        if suffix in source.extensions
        for layout_name, mapping in source.layouts.items()
    ]
    best_partial: tuple[int, str, str, set[str]] | None = None
    for row_at, row in enumerate(grid.head(settings.ingest.header_search_rows).iter_rows()):
        cells = {_normalise(v) for v in row if v}
        matches = [(len(h), s, lay) for s, lay, h in candidates if h <= cells]
        if matches:
            _, source, layout = max(matches)
            return row_at, source, layout
        for s, lay, headers in candidates:
            found = len(headers & cells)
            if found and (best_partial is None or found > best_partial[0]):
                best_partial = (found, s, lay, headers - cells)
    searched = settings.ingest.header_search_rows
    if best_partial is None:
        raise UnreadableFile(
            f"{name}: no header row of a known layout in its first {searched} rows "
            f"(empty, or not an export hhcast knows); check the file, or add its layout to "
            "hhcast.yaml"
        )
    found, source, layout, missing = best_partial
    raise UnreadableFile(
        f"{name}: missing required columns for layout '{layout}' of {source}: "
        f"{', '.join(sorted(missing))} (found {found} of {found + len(missing)} in the best "
        f"header candidate); re-export with every column, or add this layout under "
        f"sources.{source}.layouts in hhcast.yaml"
    )


def _rename(body: pl.DataFrame, header: tuple, mapping: dict[str, str]) -> pl.DataFrame:
    # The first column carrying a header name wins when an export repeats one.
    by_name: dict[str, str] = {}
    for column, value in zip(body.columns, header, strict=False):
        by_name.setdefault(_normalise(value), column)
    return body.select(
        *(pl.col(by_name[_normalise(raw)]).alias(canonical) for canonical, raw in mapping.items()),
        "source_row",
    )
