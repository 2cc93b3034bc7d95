"""Run independent per-school work serially, in local processes, or on Dask.

Every executor has one method, ``map(func, shared, items)``, that returns
``[func(shared, item) for item in items]`` in input order, so a plan is
identical whichever executor ran it.  ``shared`` (the network, risk arrays)
is sent to each worker once, not with every item.

Interrupts: local worker processes ignore SIGINT (a Ctrl-C in the terminal reaches
the whole process group; the main process alone decides), and when a ``map`` ends
by an exception (KeyboardInterrupt included) queued items are cancelled and the
workers terminated instead of waited for.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from .errors import ConfigError
from .signals import deferred_interrupts

__all__ = ["DaskExecutor", "Executor", "ProcessExecutor", "SerialExecutor", "make_executor"]

logger = logging.getLogger(__name__)

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

_SHARED: Any = None  # what a worker process was given at start


class Executor(Protocol):
    """Maps a function over items with shared read-only data."""

    def map(self, func: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """In this process, one item after the other."""

    def map(self, func: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        return [func(shared, item) for item in items]

    def close(self) -> None:
        return None


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _init_worker(shared: Any) -> None:
    global _SHARED
    _ignore_interrupts()
    _SHARED = shared


def _call(func: Callable[[Any, Any], Any], item: Any) -> Any:
    return func(_SHARED, item)


class ProcessExecutor:
    """Local worker processes (``--workers N``)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ConfigError([f"workers must be >= 1, got {workers}"])
        self.workers = workers

    def map(self, func: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        if len(items) <= 1:
            return [func(shared, item) for item in items]
        global _SHARED
        workers = min(self.workers, len(items))
        if "fork" in multiprocessing.get_all_start_methods():
            # forked workers inherit ``shared`` from this process: nothing is pickled
            _SHARED = shared
            try:
                context = multiprocessing.get_context("fork")
                return _map_in_pool(
                    ProcessPoolExecutor(
                        max_workers=workers, mp_context=context, initializer=_ignore_interrupts
                    ),
                    func,
                    items,
                )
            finally:
                _SHARED = None
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(shared,),
        )
        return _map_in_pool(pool, func, items)

    def close(self) -> None:
        return None


def _map_in_pool(
    pool: ProcessPoolExecutor, func: Callable[[Any, T], R], items: Sequence[T]
) -> list[R]:
    """``pool.map`` in order; on any exception cancel the queue and terminate the workers."""
    before = set(multiprocessing.active_children())
    try:
        return list(pool.map(_call, [func] * len(items), items))
    except BaseException:
        with deferred_interrupts():  # a second Ctrl-C must not leave workers behind
            pool.shutdown(wait=False, cancel_futures=True)
            ours = set(multiprocessing.active_children()) - before
            for child in ours:
                child.terminate()
            for child in ours:
                child.join(timeout=5)
        raise
    finally:
        pool.shutdown(wait=True)


class DaskExecutor:
    """A Dask distributed cluster (``--scheduler tcp://HOST:PORT``)."""

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError as exc:  # optional dependency
            raise ConfigError(["--scheduler needs Dask: pip install 'safepassage[dask]'"]) from exc
        try:
            self.client = Client(address, timeout="10s")
        except OSError as exc:
            raise ConfigError([f"cannot reach the Dask scheduler at {address}: {exc}"]) from exc

    def map(self, func: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        shared_future = self.client.scatter(shared, broadcast=True)
        futures = [self.client.submit(func, shared_future, item, pure=False) for item in items]
        return list(self.client.gather(futures))

    def close(self) -> None:
        self.client.close()


def make_executor(workers: int = 1, scheduler: str | None = None) -> Executor:
    """The executor for ``--workers`` / ``--scheduler`` (Dask wins when both are given)."""
    if scheduler:
        return DaskExecutor(scheduler)
    if workers > 1:
        return ProcessExecutor(workers)
    return SerialExecutor()
