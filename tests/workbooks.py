"""Builders of the workbooks real landing folders hold besides .xlsx: legacy .xls, .ods, encrypted.

No package of the lock writes .xls or .ods, so these write the few records and XML elements
a reader needs: a compound file (OLE2) holding a BIFF8 stream, and an OpenDocument zip.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from xml.sax.saxutils import escape

_SECTOR = 512
_END, _FREE, _FAT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
_NONE = 0xFFFFFFFF


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 compound file (version 3) holding `streams` at its root.

    Each stream is padded to 4096 bytes, the mini-stream cutoff, so that every stream lives
    in regular sectors and no mini stream is needed.
    """
    names = sorted(streams, key=lambda n: (len(n), n.upper()))  # the directory's name order
    bodies = [streams[n].ljust(4097, b"\0") for n in names]
    bodies = [b.ljust(-(-len(b) // _SECTOR) * _SECTOR, b"\0") for b in bodies]
    dir_sectors = -(-(len(names) + 1) // 4)
    fat = [_FAT] + [*range(2, dir_sectors + 1), _END]
    starts = []
    for body in bodies:
        first, count = len(fat), len(body) // _SECTOR
        starts.append(first)
        fat += [*range(first + 1, first + count), _END]
    if len(fat) > _SECTOR // 4:
        raise ValueError("compound_file writes one FAT sector: keep the streams under 60 KB")
    fat += [_FREE] * (_SECTOR // 4 - len(fat))
    entries = [_entry("Root Entry", 5, child=1 if names else _NONE, start=_END, size=0)]
    for at, (name, start) in enumerate(zip(names, starts, strict=True), start=1):
        right = at + 1 if at < len(names) else _NONE
        # The padded size: a stream under the cutoff would be looked for in the mini stream.
        entries.append(
            _entry(name, 2, right=right, start=start, size=max(4097, len(streams[name])))
        )
    directory = b"".join(entries).ljust(dir_sectors * _SECTOR, b"\0")
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1")
        + b"\0" * 16
        + struct.pack(
            "<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, 1, 1, 0, 4096, _END, 0, _END, 0
        )
        + struct.pack("<I", 0)
        + struct.pack("<108I", *([_FREE] * 108))
    )
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + b"".join(bodies)


def _entry(name: str, kind: int, *, start: int, size: int, child=_NONE, right=_NONE) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBBIII", len(encoded), kind, 1, _NONE, right, child)
        + b"\0" * 36
        + struct.pack("<IQ", start, size)
    )


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))


def _cell(row: int, col: int, value: object) -> bytes:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _record(0x0203, struct.pack("<HHHd", row, col, 0, float(value)))
    text = str(value).encode("utf-16-le")
    return _record(0x0204, struct.pack("<HHHHB", row, col, 0, len(text) // 2, 1) + text)


def xls_bytes(rows: Sequence[Sequence[object]], sheet: str = "Events") -> bytes:
    """A legacy (BIFF8) .xls workbook of one sheet; None cells stay empty, dates become text."""
    cells = b"".join(
        _cell(r, c, _plain(value))
        for r, row in enumerate(rows)
        for c, value in enumerate(row)
        if value is not None
    )
    width = max((len(row) for row in rows), default=0)
    name = sheet.encode("utf-16-le")
    boundsheet_size = 4 + 8 + len(name)  # header; offset, state, type, length, flags; name
    globals_size = 20 + 6 + boundsheet_size + 4  # BOF, CODEPAGE, BOUNDSHEET8, EOF
    book = (
        _bof(0x0005)
        + _record(0x0042, struct.pack("<H", 1200))
        + _record(0x0085, struct.pack("<IBBBB", globals_size, 0, 0, len(sheet), 1) + name)
        + _record(0x000A, b"")
        + _bof(0x0010)
        + _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
        + cells
        + _record(0x000A, b"")
    )
    return compound_file({"Workbook": book})


def encrypted_workbook_bytes() -> bytes:
    """What Excel writes for a password-protected .xlsx: a compound file, not a zip."""
    return compound_file(
        {"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"\0" * 64,
         "EncryptedPackage": b"\x10\x00\x00\x00\x00\x00\x00\x00" + b"\x8f" * 512}
    )  # fmt: skip


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return value


_ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"


def ods_bytes(sheets: dict[str, Sequence[Sequence[object]]]) -> bytes:
    """An OpenDocument spreadsheet with the given sheets in order; None cells stay empty."""
    tables = "".join(
        f'<table:table table:name="{escape(name)}">'
        + "".join(
            f"<table:table-row>{''.join(map(_ods_cell, row))}</table:table-row>" for row in rows
        )
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODS_MIMETYPE}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr(zipfile.ZipInfo("mimetype"), _ODS_MIMETYPE, zipfile.ZIP_STORED)
        book.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        book.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _ods_cell(value: object) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, datetime | date):
        stamp = value.strftime("%Y-%m-%d")
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{stamp}">'
            f"<text:p>{stamp}</text:p></table:table-cell>"
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    text = escape(str(value))
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )
