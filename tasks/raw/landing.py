"""Landing: the exports waiting to be ingested, and files a user hands over to land there.

The same on a local folder and on s3://bucket/prefix; storage itself is warehouse/lake.py.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import PurePosixPath

from hhcast.config import Settings
from warehouse.lake import filesystem, uri_for


@dataclass(frozen=True)
class LandedFile:
    """A file found in landing: its URI (what hhcast calls it everywhere), size and version."""

    uri: str
    bytes: int
    modified: str | None = None  # S3's ETag, or the modification time of a file in a folder
    skipped: str | None = None  # why it is listed but not read (a broken symlink, ...)

    @property
    def name(self) -> str:
        return PurePosixPath(self.uri).name


def list_landing(settings: Settings) -> list[LandedFile]:
    """Every file under the landing location, in a stable order, minus hidden and ignored names.

    A missing landing location is an error, not an empty one: a typo in HHCAST_LANDING must
    not look like "no new files".
    """
    fs, root = filesystem(settings.landing, settings)
    if not fs.exists(root):
        raise FileNotFoundError(
            f"landing location {settings.landing} does not exist; create it and drop the exports "
            "there, or point HHCAST_LANDING (or `landing` in hhcast.yaml) at the right place"
        )
    found = fs.find(root, detail=True)
    files = []
    for path, info in sorted(found.items()):
        name = PurePosixPath(path).name
        if name.startswith(".") or name in settings.ingest.ignore_names:
            continue
        uri = uri_for(settings.landing, path)
        if info.get("type") == "file":
            files.append(LandedFile(uri, int(info.get("size") or 0), _change_marker(info)))
        else:  # a symlink or a special file of a folder (fsspec lists both as `other`)
            files.append(_linked(uri, path, info))
    return files


def _linked(uri: str, path: str, info: dict) -> LandedFile:
    """A symlink to a file as that file; anything else listed as skipped, with the reason."""
    link = f"a symbolic link to {info['destination']}" if info.get("destination") else None
    try:
        target = os.stat(path)  # follows the link
    except FileNotFoundError:
        reason = f"{link or 'a link'} that points nowhere (its target does not exist)"
    except OSError as exc:  # a loop of links, or a target hhcast may not read
        reason = f"{link or 'a special file'} that cannot be followed ({exc.strerror})"
    else:
        if stat.S_ISREG(target.st_mode):
            return LandedFile(uri, target.st_size, str(target.st_mtime))
        what = "a folder" if stat.S_ISDIR(target.st_mode) else "no regular file"
        reason = (
            f"{link}, which is {what}; links to folders are not followed (they can loop or "
            "list files twice)"
            if link
            else "not a regular file (a named pipe, socket or device)"
        )
    return LandedFile(
        uri,
        0,
        skipped=f"{uri}: skipped, {reason}; put the export itself in landing, or remove it",
    )


def _change_marker(info: dict) -> str | None:
    # S3 gives every new content a new ETag; a folder's files get a new modification time.
    marker = info.get("ETag") or info.get("mtime")
    return None if marker is None else str(marker)


def check_handed_over(sources: list[str], settings: Settings) -> None:
    """Refuse a hand-over before anything lands: no files, a missing one, or two of one name.

    Files land by name, so two with the same name would overwrite each other.
    """
    if not sources:
        raise ValueError("no files given: pass the exports to land (paths or s3:// URIs)")
    missing = []
    for source in sources:
        fs, path = filesystem(source, settings)
        if not fs.isfile(path):
            missing.append(source)
    if missing:
        raise FileNotFoundError(
            f"{', '.join(missing)}: no such file to land; nothing was landed. Give file paths "
            "or s3:// URIs"
        )
    by_name: dict[str, list[str]] = {}
    for source in sources:
        by_name.setdefault(PurePosixPath(source).name, []).append(source)
    twins = [paths for paths in by_name.values() if len(paths) > 1]
    if twins:
        raise ValueError(
            f"files with the same name would overwrite each other in landing: "
            f"{'; '.join(' and '.join(paths) for paths in twins)}. Rename one (or hand them "
            "over in separate runs); nothing was landed"
        )


def land(source: str, settings: Settings) -> str:
    """Copy a file handed over by a user (a local path or s3:// URI) into landing, by name.

    A file of the same name already in landing, in whichever folder, is replaced where it
    lies, as when someone drops a corrected export: ingestion then sees a changed file and
    replaces its rows (its earlier content stays in the lake's archive). A new name lands at
    the top of landing.
    """
    src_fs, src_path = filesystem(source, settings)
    if not src_fs.isfile(src_path):
        raise FileNotFoundError(f"{source}: no such file to land; give a file path or s3:// URI")
    dst_fs, root = filesystem(settings.landing, settings)
    name = PurePosixPath(src_path).name
    dst_fs.makedirs(root, exist_ok=True)
    same_name = sorted(p for p in dst_fs.find(root) if PurePosixPath(p).name == name)
    target = same_name[0] if same_name else f"{root.rstrip('/')}/{name}"
    dst_fs.pipe_file(target, src_fs.cat_file(src_path))
    return uri_for(settings.landing, target)
