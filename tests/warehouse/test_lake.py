"""Lake storage: which I/O failures a retry may cure, and the content-addressed archive."""

from __future__ import annotations

import errno

import pytest

from warehouse.lake import archive, is_transient, sha256


@pytest.mark.parametrize(
    "error",
    [
        PermissionError(errno.EACCES, "Permission denied"),
        OSError(errno.EROFS, "Read-only file system"),
        OSError(errno.ENOSPC, "No space left on device"),
        NotADirectoryError(errno.ENOTDIR, "Not a directory"),
        FileNotFoundError(errno.ENOENT, "No such file or directory"),
    ],
)
def test_what_cannot_pass_is_not_retried(error):
    assert not is_transient(error)


@pytest.mark.parametrize(
    "error",
    [ConnectionResetError(errno.ECONNRESET, "reset"), TimeoutError("read timed out"), OSError()],
)
def test_what_may_pass_is_retried(error):
    assert is_transient(error)


def test_the_same_content_is_archived_once_under_its_hash(settings):
    content = b"Dep. Date,A/C\n2019.03.07,PR-GAA\n"
    first = archive(content, sha256(content), "june.csv", settings)
    again = archive(content, sha256(content), "june.csv", settings)
    assert first == again and first.endswith(
        f"/archive/{sha256(content)[:2]}/{sha256(content)}/june.csv"
    )
    with open(first, "rb") as stored:
        assert stored.read() == content
