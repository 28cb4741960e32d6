"""Open a workbook (.xlsx, .xlsm, .xls or .ods, whatever its name says) as grids of text cells.

The container is told from the bytes, not the suffix: exports get renamed, and Excel saves
a password-protected .xlsx as a compound file, which reads like a legacy .xls.
"""

from __future__ import annotations

import io
import re
import zipfile

import fastexcel
import polars as pl

from hhcast.config import Settings
from tasks.raw.read_errors import UnreadableFile, about_content

_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")  # a stream name in the OLE directory
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_RESAVE = "open it in Excel and save it again as .xlsx, or re-export it"


class Workbook:
    """A readable workbook: its sheets' names, and each sheet as a grid numbered as shown."""

    def __init__(self, name: str, content: bytes, settings: Settings) -> None:
        self.name = name
        kind = container(content)
        if kind == "encrypted":
            raise UnreadableFile(
                f"{name}: the workbook is encrypted (password-protected): save it without a "
                "password (File > Info > Protect Workbook > Encrypt with Password, clear it), "
                "then land it again"
            )
        if kind is None:
            raise UnreadableFile(
                f"{name}: not a readable Excel workbook ({_what(content)}); {_RESAVE}"
            )
        if kind == "zip":
            raise UnreadableFile(
                f"{name}: not a readable Excel workbook (a zip archive without a workbook in it, "
                f"a Word document or another archive renamed?); {_RESAVE}"
            )
        self.kind, self._content, self._max_cells = kind, content, settings.ingest.max_sheet_cells
        try:
            self._reader = fastexcel.read_excel(content)
        except BaseException as exc:  # calamine's own error types, or a panic in its Rust
            if not about_content(exc):
                raise
            raise _unreadable(name, exc) from exc
        self.sheet_names = list(self._reader.sheet_names)

    def grid(self, sheet: int = 0, rows: int | None = None) -> pl.DataFrame:
        """Text columns c0, c1, ... and `source_row`, the row number Excel shows (from 1)."""
        if self.kind == "xlsx":
            check_extent(self.name, self._content, self._max_cells, sheet)
        try:
            # skip_rows=0 keeps the blank rows above the first cell, so row i is sheet row i + 1
            # in every format (calamine would otherwise start the grid at the first used row).
            loaded = self._reader.load_sheet(
                sheet, header_row=None, skip_rows=0, n_rows=rows, dtypes="string"
            )
            frame = loaded.to_polars()
        except BaseException as exc:
            if not about_content(exc):
                raise
            raise _unreadable(self.name, exc) from exc
        frame = frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)})
        return frame.with_columns(source_row=pl.int_range(1, pl.len() + 1, dtype=pl.Int32))


def container(content: bytes) -> str | None:
    """What the bytes hold: 'xlsx', 'ods', 'zip' (another archive), 'xls', 'encrypted', or None."""
    if content.startswith(_OLE2):
        # Excel keeps an encrypted OOXML package in a compound file, beside its EncryptionInfo;
        # the directory naming it may sit anywhere, so the whole file is searched (a memchr).
        return "encrypted" if _ENCRYPTION_INFO in content else "xls"
    if not content.startswith(b"PK"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            names = set(book.namelist())
            if "mimetype" in names and book.read("mimetype").strip() == _ODS_MIMETYPE:
                return "ods"
    except Exception:  # zipfile raises many kinds (BadZipFile, ValueError, zlib.error, ...)
        return None  # truncated or damaged: calamine could not read it either
    return "xlsx" if "xl/workbook.xml" in names else "zip"


def _what(content: bytes) -> str:
    if content.startswith(b"PK"):
        return "a damaged or truncated zip: the copy may have been cut short"
    head = content[:512]
    if head and sum(32 <= b < 127 or b in b"\t\r\n" for b in head) > 0.95 * len(head):
        return "it holds text: a CSV renamed to .xlsx?"
    return "neither a zip-based workbook nor a legacy .xls"


def _unreadable(name: str, exc: BaseException) -> UnreadableFile:
    cause = " ".join(str(exc).split())[:300]
    if "password" in cause.lower():
        return UnreadableFile(
            f"{name}: the workbook is encrypted (password-protected): save it without a "
            "password, then land it again"
        )
    return UnreadableFile(
        f"{name}: not a readable Excel workbook ({type(exc).__name__}: {cause}); {_RESAVE}"
    )


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")
# A cell with content; a self-closing <c .../> is formatting only, and calamine skips it.
_CELL = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d{1,7})\"[^>]*?(/?)>")


def check_extent(name: str, content: bytes, max_cells: int, sheet: int = 0) -> None:
    """Refuse a sheet whose cells span more than `max_cells`, before calamine reads it.

    calamine allocates the whole rectangle from the first cell to the last, so one stray
    cell at row 1,048,576 turns a 20 KB workbook into gigabytes. The sheet's <dimension>,
    at its start, says the span cheaply; only a span over the limit (or none) is checked
    against the cells themselves, since Excel's dimension also counts formatted blanks.
    """
    try:
        with (
            zipfile.ZipFile(io.BytesIO(content)) as book,
            book.open(sheet_path(book, sheet)) as xml,
        ):
            head = xml.read(65536)
            declared = _DIMENSION.search(head)
            if declared:
                col_a, row_a, col_b, row_b = declared.groups()
                corner = (_column(col_b or col_a), int(row_b or row_a))
                if _cells((_column(col_a), int(row_a)), corner) <= max_cells:
                    return
            first, last, rows = _cell_span(head, xml)
    except Exception:  # a damaged zip, of whichever kind: calamine will say what is wrong
        return
    if first is None or _cells(first, last) <= max_cells:
        return
    span = f"{_letters(first[0])}{first[1]}:{_letters(last[0])}{last[1]}"
    which = "first sheet" if sheet == 0 else f"sheet {sheet + 1}"
    raise UnreadableFile(
        f"{name}: the cells of its {which} span {span} ({_cells(first, last):,} cells, more than "
        f"ingest.max_sheet_cells allows: {max_cells:,}) though only {rows:,} rows hold values: "
        "a stray cell far from the data forces the whole rectangle to be read. Delete the rows "
        "and columns beyond the data, save and land it again, or raise "
        "ingest.max_sheet_cells in hhcast.yaml"
    )


def _cell_span(head: bytes, xml) -> tuple[tuple | None, tuple | None, int]:
    """The top-left and bottom-right (column, row) of the cells with content, and their rows."""
    cols: set[int] = set()
    rows: set[int] = set()
    carry = head
    while True:
        cut = carry.rfind(b"<")  # a tag split by the chunk boundary waits for the next chunk
        body, carry = (carry[:cut], carry[cut:]) if cut > 0 else (carry, b"")
        for col, row, empty in _CELL.findall(body):
            if not empty:
                cols.add(_column(col))
                rows.add(int(row))
        chunk = xml.read(1 << 20)
        if not chunk:
            break
        carry += chunk
    if not rows:
        return None, None, 0
    return (min(cols), min(rows)), (max(cols), max(rows)), len(rows)


def _cells(first: tuple[int, int], last: tuple[int, int]) -> int:
    return (abs(last[0] - first[0]) + 1) * (abs(last[1] - first[1]) + 1)


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _letters(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_path(book: zipfile.ZipFile, sheet: int = 0) -> str:
    """The part holding the workbook's sheet at position `sheet`, as workbook.xml orders them."""
    names = set(book.namelist())
    workbook = book.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    ids = re.findall(r"<(?:\w+:)?sheet\b[^>]*\br:id=\"([^\"]+)\"", workbook)
    if sheet < len(ids):
        for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
            target = re.search(r'Target="([^"]+)"', rel.group(0))
            if f'Id="{ids[sheet]}"' in rel.group(0) and target:
                path = target.group(1)
                path = path.lstrip("/") if path.startswith("/") else f"xl/{path}"
                if path in names:
                    return path
    return f"xl/worksheets/sheet{sheet + 1}.xml"
