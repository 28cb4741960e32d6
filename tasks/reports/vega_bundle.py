"""The Vega, Vega-Lite and vega-embed script a report page inlines, kept on disk between runs.

vl-convert bundles it in 4-7 s, and every flow run is a fresh process. The bundle depends only
on vl-convert's version and the Vega-Lite version asked for, so it is kept under
`$XDG_CACHE_HOME/hhcast-reports` (`~/.cache/hhcast-reports`) named for both. A cache that
cannot be read or written is skipped, never an error; deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import cache
from pathlib import Path

import altair as alt
import vl_convert

# vl-convert names Vega-Lite versions v<major>_<minor>: the one altair writes specs for
VL_VERSION = "_".join(alt.SCHEMA_VERSION.split(".")[:2])


@cache
def vega_bundle() -> str:
    """The script, from the cache when this vl-convert made it before."""
    path = _cached_path()
    if path is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return path.read_text(encoding="utf-8")
    bundle = vl_convert.javascript_bundle(vl_version=VL_VERSION)
    if path is not None:
        _save(path, bundle)
    return bundle


def _cached_path() -> Path | None:
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no HOME and no user entry to find it by
        return None
    return root / "hhcast-reports" / f"vega-{vl_convert.__version__}-{VL_VERSION}.js"


def _save(path: Path, bundle: str) -> None:
    """Write the bundle whole or not at all: a reader never sees half a script."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False
        ) as handle:
            handle.write(bundle)
        os.replace(handle.name, path)
