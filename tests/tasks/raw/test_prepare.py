"""One file cannot stop the others: whatever goes wrong with its content makes it a rejection."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from tasks.ingest import prepare_files
from tasks.raw import prepare
from tasks.raw.landing import LandedFile
from tasks.raw.load import KnownFiles

ROW = ["MECHANIC", "PR-GAA", "B737NG", "GRU", date(2019, 3, 7), 32, "GEAR", "1:30", "1:45"]
NOTHING_KNOWN = KnownFiles(statuses={}, listed={})
ROOT = Path(__file__).resolve().parents[3]


def landed(path: Path) -> LandedFile:
    return LandedFile(str(path), path.stat().st_size, "1")


class PanicException(BaseException):
    """What calamine's Rust panics look like from Python (pyo3 derives it from BaseException)."""


@pytest.fixture
def two_workbooks(paths, events_xlsx) -> list[LandedFile]:
    good = events_xlsx(paths["landing"] / "good.xlsx", [ROW, ROW])
    odd = events_xlsx(paths["landing"] / "odd.xlsx", [ROW[:1] + ["PR-ODD"] + ROW[2:]])
    return [landed(good), landed(odd)]


def reading_fails_for(name: str, error: BaseException, monkeypatch) -> None:
    real = prepare.read_export

    def read_export(uri, content, settings):
        if uri.endswith(name):
            raise error
        return real(uri, content, settings)

    monkeypatch.setattr(prepare, "read_export", read_export)


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom"), KeyError("xl/workbook.xml"), PanicException("index out of bounds")],
)
def test_an_unexpected_failure_rejects_its_file_only(settings, two_workbooks, monkeypatch, error):
    reading_fails_for("odd.xlsx", error, monkeypatch)
    good, odd = prepare.stage_files(two_workbooks, settings, NOTHING_KNOWN)
    assert (good.outcome.status, good.row_count) == ("loaded", 2)
    assert odd.outcome.status == "rejected"
    assert odd.outcome.error == (
        f"{odd.outcome.uri}: hhcast could not read this file: {type(error).__name__}: {error}; "
        "the file is archived in the lake"
    )
    assert Path(odd.outcome.archive_uri).read_bytes() == Path(odd.outcome.uri).read_bytes()
    assert "Traceback" in odd.trace


def test_an_interrupt_is_not_taken_for_a_bad_file(settings, two_workbooks, monkeypatch):
    reading_fails_for("odd.xlsx", KeyboardInterrupt(), monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        prepare.stage_files(two_workbooks, settings, NOTHING_KNOWN)


def test_landing_io_errors_still_raise_for_the_retry(settings, two_workbooks, monkeypatch):
    def read_bytes(uri, settings):
        raise ConnectionResetError("landing went away")

    monkeypatch.setattr(prepare, "read_bytes", read_bytes)
    with pytest.raises(OSError, match="landing went away"):
        prepare.stage_files(two_workbooks, settings, NOTHING_KNOWN)


def test_a_file_whose_typing_fails_does_not_take_its_group_down(
    settings, two_workbooks, monkeypatch
):
    events = prepare.SOURCES["unscheduled_events"]

    def typed(raw, s):
        if "PR-ODD" in raw.get_column("registration").to_list():
            raise ValueError("a parser met something it never saw")
        return events.typed(raw, s)

    monkeypatch.setitem(prepare.SOURCES, "unscheduled_events", replace(events, typed=typed))
    good, odd = prepare.stage_files(two_workbooks, settings, NOTHING_KNOWN)
    assert (good.outcome.status, good.outcome.rows_loaded) == ("loaded", 2)
    assert odd.outcome.status == "rejected"
    assert "ValueError: a parser met something it never saw" in odd.outcome.error


def test_the_traceback_is_logged_once_with_the_rejection(
    settings, two_workbooks, monkeypatch, caplog
):
    reading_fails_for("odd.xlsx", RuntimeError("boom"), monkeypatch)
    with caplog.at_level(logging.DEBUG, logger="tasks"):
        staged = prepare_files.fn(two_workbooks, settings, NOTHING_KNOWN)
    assert [item.outcome.status for item in staged] == ["loaded", "rejected"]
    traced = [r for r in caplog.records if r.exc_info]
    assert len(traced) == 1 and traced[0].levelno == logging.WARNING
    assert traced[0].getMessage() == staged[1].outcome.error
    trace = logging.Formatter().formatException(traced[0].exc_info)
    assert "Traceback" in trace and "RuntimeError: boom" in trace


def test_a_file_that_kills_its_reader_is_rejected_and_the_others_load(settings, paths, events_xlsx):
    from reader_killer import POISON, stage_or_abort

    from tasks.ingest import staged_in_workers
    from tasks.raw.workers import WorkerPool

    files = [
        landed(events_xlsx(paths["landing"] / f"{name}.xlsx", [ROW])) for name in ("a", POISON, "b")
    ]
    pool = WorkerPool(1)
    try:
        staged = staged_in_workers(files, settings, NOTHING_KNOWN, pool, stage=stage_or_abort)
        later = staged_in_workers(files[:1], settings, NOTHING_KNOWN, pool, stage=stage_or_abort)
    finally:
        pool.close()
    assert [item.outcome.status for item in staged] == ["loaded", "rejected", "loaded"]
    killed = staged[1].outcome
    assert "poison.xlsx: hhcast could not read this file: the process reading it died" in (
        killed.error
    )
    assert Path(killed.archive_uri).read_bytes() == Path(files[1].uri).read_bytes()
    assert [item.outcome.status for item in later] == ["loaded"]  # the pool was replaced


def test_a_worker_pool_given_no_file_starts_no_process():
    # Not even multiprocessing's resource tracker: a run with nothing new pays for nothing.
    probe = (
        "from multiprocessing import resource_tracker\n"
        "from tasks.raw.workers import worker_pool\n"
        "with worker_pool(2):\n"
        "    pass\n"
        "assert resource_tracker._resource_tracker._pid is None, 'a process was started'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
