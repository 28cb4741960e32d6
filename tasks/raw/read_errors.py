"""The error a file that cannot be ingested raises: its message is the file's rejection."""

from __future__ import annotations


class UnreadableFile(ValueError):
    """The file cannot be ingested at all; the message names the cause and the fix."""


def about_content(exc: BaseException) -> bool:
    """Whether an exception raised while reading bytes in memory is the file's, not the run's.

    Parsing bytes already fetched can raise anything, an OSError too; calamine's Rust panics
    reach Python as PanicException, a BaseException. Interrupts and exits are the run's.
    """
    if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
        return False
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"
