"""What reading the SQL project leaves on disk for the next process, like dbt's partial parsing.

Every flow run is a fresh process. There, compiling the model templates with Jinja and starting
a DuckDB parser to list the tables each model reads cost about 50 ms, a fifth of an
incremental build. Both results depend only on the text they came from (and the Jinja or
DuckDB version), so they are kept under `$XDG_CACHE_HOME/hhcast` (`~/.cache/hhcast`), keyed by
that text: an edited model is a new key, never a stale answer. A cache that cannot be read or
written is skipped, never an error; deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import jinja2

MAX_QUERIES = 512  # queries remembered; past it the oldest half goes


def cache_dir() -> Path:
    """The folder the caches live in (read at each call, so tests can point it elsewhere)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "hhcast"


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, except that a cache it cannot write costs a compile, not the build."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's compiled templates on disk, checked against their source; None if unwritable."""
    folder = cache_dir() / "jinja"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _BytecodeCache(str(folder))


def remembered_reads(sql: str, parse: Callable[[str], Iterable[str]]) -> frozenset[str]:
    """The tables a query reads: `parse(sql)` once, then from the cache for the same text."""
    key = hashlib.sha256(sql.encode()).hexdigest()
    path = cache_dir() / f"tables-read-duckdb-{duckdb.__version__}.json"
    known = _load(path)
    if key not in known:
        known[key] = sorted(parse(sql))
        if len(known) > MAX_QUERIES:
            known = dict(list(known.items())[-MAX_QUERIES // 2 :])
        _save(path, known)
    return frozenset(known[key])


def _load(path: Path) -> dict[str, list[str]]:
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _save(path: Path, known: dict[str, list[str]]) -> None:
    # Written whole and renamed into place: a reader sees the old file or the new one. Two
    # processes saving at once may lose one's entry, which then costs one parse again.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8"
        ) as out:
            json.dump(known, out)
        try:
            os.replace(out.name, path)
        finally:
            Path(out.name).unlink(missing_ok=True)  # gone already when the rename worked
