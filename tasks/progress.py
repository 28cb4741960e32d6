"""Progress of a run's long work (files ingested, candidates trained) as a Prefect progress
artifact, so the UI shows how far a run is while it runs.

Updates are cheap but not free (one API call each): an update is sent at most every
`every_seconds`, and always for the last item.
"""

from __future__ import annotations

import time
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact


class RunProgress:
    """`done` of `total` items of one kind, published under `key` for the current run."""

    def __init__(self, key: str, total: int, what: str, every_seconds: float = 3.0) -> None:
        self.key, self.total, self.what, self.every = key, total, what, every_seconds
        self.done = 0
        self._sent_at = time.monotonic()
        self._id: UUID | None = create_progress_artifact(
            progress=0.0, key=key, description=self.description()
        )

    def percent(self) -> float:
        if self.total <= 0:
            return 100.0
        return round(100.0 * min(self.done, self.total) / self.total, 1)

    def description(self) -> str:
        return f"**{self.what}**: {self.done} of {self.total}"

    def advance(self, items: int = 1, label: str | None = None) -> None:
        """Count `items` more done; publish when enough time passed or the work is done."""
        self.done += items
        now = time.monotonic()
        if self._id is None or (now - self._sent_at < self.every and self.done < self.total):
            return
        self._sent_at = now
        text = self.description() + (f" (last: {label})" if label else "")
        update_progress_artifact(self._id, progress=self.percent(), description=text)
