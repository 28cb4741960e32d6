"""Which landed files to read, in groups for the workers and batches for the warehouse."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tasks.raw.landing import LandedFile
from tasks.raw.load import FileOutcome, KnownFiles, StagedFile


def split_unchanged(
    landed: list[LandedFile], known: KnownFiles
) -> tuple[list[FileOutcome], list[LandedFile]]:
    """The outcomes of files listed as they were when recorded (not read again), and the rest.

    A file listed with the size and change marker (S3 ETag, file mtime) it had when it was
    recorded is taken as unchanged; any rewrite changes the marker, so the file is read and
    its content hash decides.
    """
    unchanged, changed = [], []
    for file in landed:
        outcome = known.unchanged(file)
        if outcome is None:
            changed.append(file)
        else:
            unchanged.append(outcome)
    return unchanged, changed


def groups(landed: list[LandedFile], size: int) -> Iterator[list[LandedFile]]:
    """Consecutive groups of `size` files (the last may be smaller), prepared together."""
    for start in range(0, len(landed), size):
        yield landed[start : start + size]


def group_label(group: list[LandedFile]) -> str:
    """How a group of files is named in Prefect's UI."""
    if len(group) == 1:
        return group[0].name
    return f"{group[0].name} .. {group[-1].name} ({len(group)} files)"


def batches(staged: Iterable[StagedFile], rows: int) -> Iterator[list[StagedFile]]:
    """Consecutive groups of files, each closed once it holds `rows` rows (files never split)."""
    group: list[StagedFile] = []
    for item in staged:
        group.append(item)
        if sum(i.row_count for i in group) >= rows:
            yield group
            group = []
    if group:
        yield group
