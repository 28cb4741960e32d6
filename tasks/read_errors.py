"""The error a file that cannot be ingested raises: its message is the file's rejection."""

from __future__ import annotations


class UnreadableFile(ValueError):
    """The file cannot be ingested at all; the message names the cause and the fix."""
