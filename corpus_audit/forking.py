"""Forked worker processes: when this process may fork, and a map over forked children.

Shared by the in-process engine (`corpus_audit.engine.local`, its analysis workers) and the
report (`corpus_audit.report.plots`, one plot per child). A forked child inherits everything
loaded so far (models, word lists, matplotlib) at no cost, which is the point; it is only safe
when this process runs no other thread (a thread holding a lock at the fork leaves it held
forever in the child) — `can_fork` says so.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from typing import Any, Callable, Iterable, TypeVar

__all__ = ["can_fork", "forked_map", "usable_cores"]

T = TypeVar("T")
R = TypeVar("R")

#: What `forked_map`'s children read (inherited through the fork, never pickled).
_INHERITED: Any = None


def usable_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether worker processes can be forked here: the ``fork`` start method exists and this
    process runs no other thread."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def forked_map(function: Callable[[Any, T], R], items: Iterable[T], processes: int, inherited: Any) -> list[R]:
    """``[function(inherited, item) for item in items]`` in up to ``processes`` forked children.

    ``inherited`` reaches the children through the fork (not pickled); ``function`` (a module
    level function), the items and the results are pickled. Runs in this process instead when it
    cannot fork, with one process or one item, or when a child dies (`BrokenProcessPool`).
    """
    global _INHERITED
    items = list(items)
    processes = min(processes, len(items))
    if processes <= 1 or not can_fork():
        return [function(inherited, item) for item in items]
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _INHERITED = inherited
    try:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_call_inherited, [function] * len(items), items))
    except BrokenProcessPool:  # a child was killed (out of memory?): do it here instead
        return [function(inherited, item) for item in items]
    finally:
        _INHERITED = None


def _call_inherited(function: Callable[[Any, T], R], item: T) -> R:
    return function(_INHERITED, item)


def cpu_threads_per_worker(runner: str, workers: int) -> int | None:
    """Intra-op torch threads per worker process on CPU: the launching machine's usable cores
    divided among the ``--workers`` processes of a local run (N processes x all cores each would
    oversubscribe the machine); None for other runners (each worker machine decides from its own
    cores). ``auto`` and ``local`` run on the launching machine too."""
    if runner not in ("auto", "local", "DirectRunner", "direct"):
        return None
    return max(1, len(os.sched_getaffinity(0)) // max(1, workers))
