"""What reading the SQL project leaves on disk for the next process, like dbt's partial parsing.

Every flow run is a fresh process. There, compiling the model templates with Jinja and starting
a DuckDB parser to list the tables each model reads cost about 50 ms, a fifth of an
incremental build. Both results depend only on the text they came from and on the code that
produced them, so they are kept under `$XDG_CACHE_HOME/hhcast` (`~/.cache/hhcast`) in a folder
named for that code (Jinja's and DuckDB's versions, and this module's and tasks/marts/project.py's
source: Jinja folds filters on literals into the compiled code), keyed by the text: an edited
model, macro or parser is a new key, never a stale answer. A cache that cannot be read or
written is skipped, never an error; deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import duckdb
import jinja2

MAX_QUERIES = 512  # queries remembered; past it the oldest half goes
_PRODUCERS = ("project_cache.py", "project.py")  # the code whose answers are kept


def cache_dir() -> Path | None:
    """This code's cache folder (read at each call, so tests can point it elsewhere); None
    where there is no home to keep it in. Folders of other code versions are removed."""
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hhcast"
    except RuntimeError:  # no HOME and no user entry to find it by
        return None
    folder = root / _code_version()
    if not folder.is_dir():
        with contextlib.suppress(OSError):
            for other in root.iterdir():
                if other.is_dir():
                    shutil.rmtree(other, ignore_errors=True)
                else:
                    other.unlink(missing_ok=True)
    return folder


@lru_cache(maxsize=1)
def _code_version() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256(f"jinja2 {jinja2.__version__} duckdb {duckdb.__version__}".encode())
    for name in _PRODUCERS:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, except that a cache it cannot read or write costs a compile, never
    the build."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged file unpickles into anything: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's compiled templates on disk, checked against their source; None if unwritable."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        (folder / "jinja").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _BytecodeCache(str(folder / "jinja"))


def remembered_reads(sql: str, parse: Callable[[str], Iterable[str]]) -> frozenset[str]:
    """The tables a query reads: `parse(sql)` once, then from the cache for the same text."""
    key = hashlib.sha256(sql.encode()).hexdigest()
    folder = cache_dir()
    path = folder / "tables-read.json" if folder else None
    known = _load(path) if path else {}
    if key not in known:
        known[key] = sorted(parse(sql))
        if len(known) > MAX_QUERIES:
            known = dict(list(known.items())[-MAX_QUERIES // 2 :])
        if path:
            _save(path, known)
    return frozenset(known[key])


def _load(path: Path) -> dict[str, list[str]]:
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(known, dict):
        return {}
    # only well-formed entries: a damaged one is parsed again, never read as tables
    return {
        key: tables
        for key, tables in known.items()
        if isinstance(tables, list) and all(isinstance(t, str) for t in tables)
    }


def _save(path: Path, known: dict[str, list[str]]) -> None:
    # Written whole and renamed into place: a reader sees the old file or the new one. Two
    # processes saving at once may lose one's entry, which then costs one parse again.
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(known, out)
        os.replace(temporary, path)
        temporary = None
    except OSError:
        pass  # a full disk or a read-only home: the next process parses again
    finally:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
