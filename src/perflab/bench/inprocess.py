"""Timing a Python callable in this process, as timeit and pyperf do: one sample is an inner loop of
``n`` calls, with ``n`` calibrated once so a sample lasts at least ``MIN_SAMPLE_S`` (10 ms), far above the
clock's resolution and the loop's own overhead; the figure reported is per call (sample / n).

A sample is stored as a Run: ``wall_ns`` is the whole loop, ``metrics["per_call_s"]`` the per-call time
and ``metrics["iterations"]`` the ``n``; user/sys are this process's CPU time over the loop.
"""

from __future__ import annotations

import importlib
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from perflab.errors import OptionError
from perflab.store.model import Run

MIN_SAMPLE_S = 0.010
MAX_ITERATIONS = 1 << 40
PER_CALL = "per_call_s"


def load_callable(target: str, path: str | None = None) -> Callable[..., Any]:
    """``module:function`` → the function (``path`` is put first on sys.path)."""
    module_name, _, function = target.partition(":")
    if path is not None and path not in sys.path:
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # an ImportError or the module's own failure at import time
        raise OptionError("callable", target, f"cannot import {module_name!r}: {error}") from None
    func = getattr(module, function, None)
    if not callable(func):
        raise OptionError("callable", target, f"{module_name!r} has no callable {function!r}")
    return func


def _loop(func: Callable[..., Any], args: tuple[Any, ...], n: int) -> int:
    start = time.perf_counter_ns()
    for _ in range(n):
        func(*args)
    return time.perf_counter_ns() - start


def calibrate(
    func: Callable[..., Any], args: tuple[Any, ...] = (), min_sample_s: float = MIN_SAMPLE_S
) -> int:
    """The smallest power of two of calls whose loop lasts at least ``min_sample_s`` (timeit's rule)."""
    n = 1
    while n < MAX_ITERATIONS:
        if _loop(func, args, n) >= min_sample_s * 1e9:
            return n
        n *= 2
    return n


def time_sample(
    func: Callable[..., Any], args: tuple[Any, ...], n: int, *, sequence: int, block: int, variant: str
) -> Run:
    """One sample of ``n`` calls; an exception in the callable propagates (the caller records a failure)."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = _loop(func, args, n)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return Run(
        sequence=sequence,
        wall_ns=wall,
        user_s=(after.ru_utime - before.ru_utime) / n,
        sys_s=(after.ru_stime - before.ru_stime) / n,
        exit_code=0,
        block=block,
        variant=variant,
        metrics={PER_CALL: wall / n / 1e9, "iterations": float(n)},
    )
