"""Storage of landing and the lake: one filesystem API for a folder and s3://bucket/prefix.

Reading, content addresses, the archive of every handed-over file, and which I/O failures
are worth a retry. What sits in landing, and landing files, is tasks/raw/landing.py.
"""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import fsspec
from fsspec import AbstractFileSystem

from hhcast.config import Settings

ARCHIVE_DIR = "archive"


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
