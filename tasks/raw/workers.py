"""Worker processes that read files, and survive a file that kills the process reading it.

A few damaged workbooks make calamine (the Rust reader inside fastexcel) abort its process:
no Python exception, the worker is simply gone, and a process pool that loses a worker is
broken for every file in it. Here a broken pool is replaced, the files it held are tried
again, and a file that kills its reader once more, alone in a process of its own, is the one
to blame: it is rejected and the run goes on.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class WorkerDied(RuntimeError):
    """The process running a call died (killed, or aborted by native code) before answering."""


class WorkerPool:
    """A pool of spawned processes, replaced whole when one of its workers dies."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._context = multiprocessing.get_context("spawn")  # fork is unsafe under threads
        self._lock = threading.Lock()
        # Made by the first call: a pool, even before it starts a worker, starts
        # multiprocessing's resource tracker (a Python process of its own), which a run with
        # nothing new to read has no use for.
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self, processes: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=processes, mp_context=self._context)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = self._new_pool(self.processes)
            return self._pool

    def run(self, function: Callable[..., T], *args) -> T:
        """`function(*args)` in a worker; WorkerDied if the worker (or another) died meanwhile."""
        pool = self._current()
        try:
            return pool.submit(function, *args).result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._pool is pool:  # the first caller to see it replaces the pool
                    self._pool = self._new_pool(self.processes)
                    pool.shutdown(wait=False, cancel_futures=True)
            raise WorkerDied(str(exc)) from exc

    def run_alone(self, function: Callable[..., T], *args) -> T:
        """`function(*args)` in a process of its own, so its death harms no other call."""
        with self._new_pool(1) as alone:
            try:
                return alone.submit(function, *args).result()
            except BrokenProcessPool as exc:
                raise WorkerDied(str(exc)) from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def worker_pool(processes: int) -> Iterator[WorkerPool | None]:
    """Processes that prepare files in parallel, or None to prepare them in this process.

    Workers start on the first file submitted, so a run with nothing new starts none. In this
    process (0 workers), a file that aborts its reader aborts the run: keep at least one.
    """
    if processes < 1:
        yield None
        return
    pool = WorkerPool(processes)
    try:
        yield pool
    finally:
        pool.close()
