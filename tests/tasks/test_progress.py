"""Progress artifacts: created once, updated no more often than asked, always at the end."""

from __future__ import annotations

import tasks.progress as progress_module
from tasks.progress import RunProgress


def test_updates_are_throttled_but_the_last_item_is_always_sent(monkeypatch):
    sent = []
    monkeypatch.setattr(progress_module, "create_progress_artifact", lambda **kw: "id-1")
    monkeypatch.setattr(
        progress_module,
        "update_progress_artifact",
        lambda artifact_id, progress, description: sent.append(
            (artifact_id, progress, description)
        ),
    )
    clock = iter([0.0, 1.0, 2.0, 5.0, 5.5])  # creation, then one reading per advance
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    bar = RunProgress("ingest-progress", 4, "Files prepared", every_seconds=3.0)
    for label in ("a.xlsx", "b.xlsx", "c.xlsx", "d.xlsx"):
        bar.advance(label=label)
    # 1 s and 2 s: too soon; 5 s: sent; 5.5 s: too soon, but the last item
    assert [(p, d) for _, p, d in sent] == [
        (75.0, "**Files prepared**: 3 of 4 (last: c.xlsx)"),
        (100.0, "**Files prepared**: 4 of 4 (last: d.xlsx)"),
    ]


def test_nothing_to_do_is_complete(monkeypatch):
    monkeypatch.setattr(progress_module, "create_progress_artifact", lambda **kw: "id-1")
    assert RunProgress("training-progress", 0, "Candidates trained").percent() == 100.0
