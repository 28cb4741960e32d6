"""Landing and lake I/O, the same on a local folder and on s3://bucket/prefix (through s3fs)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import fsspec
from fsspec import AbstractFileSystem

from hhcast.config import Settings

ARCHIVE_DIR = "archive"


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


def filesystem(location: str, settings: Settings) -> tuple[AbstractFileSystem, str]:
    """The filesystem holding a location, and the location's path inside it."""
    if location.startswith("s3://"):
        fs = fsspec.filesystem(
            "s3",
            endpoint_url=settings.s3.endpoint_url,
            use_listings_cache=False,
        )
        return fs, location.removeprefix("s3://").rstrip("/")
    return fsspec.filesystem("file"), str(Path(location).resolve())


def uri_for(location: str, path: str) -> str:
    """The URI of a path inside `location`'s filesystem (s3:// for S3, the path for folders)."""
    return f"s3://{path}" if location.startswith("s3://") else path


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


def read_bytes(uri: str, settings: Settings) -> bytes:
    """The whole content of a landed file."""
    fs, path = filesystem(uri, settings)
    return fs.cat_file(path)


def sha256(content: bytes) -> str:
    """The content address of a file."""
    return hashlib.sha256(content).hexdigest()


def archive(content: bytes, digest: str, name: str, settings: Settings) -> str:
    """Keep an unchanged copy of a handed-over file in the lake, addressed by its content.

    The same content is stored once, however many names or runs it arrives under.
    """
    fs, root = filesystem(settings.lake, settings)
    path = f"{root}/{ARCHIVE_DIR}/{digest[:2]}/{digest}/{name}"
    # A partial copy left by a crash has the wrong size and is written again.
    if not fs.exists(path) or fs.size(path) != len(content):
        parent = path.rsplit("/", 1)[0]
        fs.makedirs(parent, exist_ok=True)
        fs.pipe_file(path, content)
    return uri_for(settings.lake, path)


# Failures that a retry a few seconds later cannot cure: a wrong path, a read-only or full
# disk, a permission, a file where a folder should be.
PERMANENT_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}
PERMANENT_OS_ERRORS = (
    FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError, FileExistsError,
)  # fmt: skip


def retry_on_io_error(task, task_run, state) -> bool:
    """Prefect retry condition: retry lake and landing I/O failures, never bugs or bad data.

    Only failures that may pass are retried (a dropped connection, a server's 503); a
    read-only lake or a missing permission fails at once instead of after a minute of retries.
    """
    try:
        state.result()
    except OSError as exc:
        return is_transient(exc)
    except Exception:
        return False
    return False


def is_transient(exc: OSError) -> bool:
    """Whether an I/O failure may pass if tried again."""
    return not isinstance(exc, PERMANENT_OS_ERRORS) and exc.errno not in PERMANENT_ERRNOS


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
