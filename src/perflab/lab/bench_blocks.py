"""Blocks whose order and switching the caller decides: the measuring loop of ``BenchSession`` when the
things compared are not just commands but a command under a setting (a suite's variants, ``tune try``'s
candidate tunings) that is put in force for its segment of each block and undone after.

A ``BlockPlan`` says, block by block, which segments (``Arm``) run in which order; the loop runs them on
one ``MeasurementSession`` (one executor, the same run rule and hooks as ``perflab bench``), stops by the
same ``StopRule`` (a fixed run count, or bench's adaptive rule on each arm's samples) and ends like
``run_interleaved``: a failure or Ctrl-C/SIGTERM keeps what was measured in the returned Benchmark."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perflab.bench.measurement import MeasurementSession
    from perflab.store.model import Benchmark, Run


@dataclass
class Arm:
    """One segment of a block: command ``index`` measured ``runs`` times, after ``warmup`` unrecorded
    runs, while ``in_force()`` (a context manager: a variant's settings) is entered; runs carry
    ``variant``."""

    index: int
    variant: str = ""
    runs: int = 1
    warmup: int = 0
    in_force: Callable[[], AbstractContextManager[Any]] | None = None


@dataclass
class BlockPlan:
    """``arms(block)``: the segments of block ``block`` in the order they run. Blocks ``-warmup_blocks``
    … ``-1`` come first and record nothing (every run of their arms is a warm-up). ``ran(arm, run)`` is
    called after every run (``run`` None for a warm-up), for progress."""

    arms: Callable[[int], list[Arm]]
    warmup_blocks: int = 0
    ran: Callable[[Arm, Run | None], None] | None = None


def run_plan(session: MeasurementSession, plan: BlockPlan) -> Benchmark:
    """Setup, warm-up blocks, measured blocks until the session's run count is reached, cleanup."""
    from perflab.bench.runner import run_guarded
    from perflab.bench.scheduler import StopDecision, StopRule

    rule = StopRule(session.options.count)

    def measure() -> None:
        for block in range(-plan.warmup_blocks, 0):
            for arm in plan.arms(block):
                _segment(session, plan, arm, block, warm=True)
        decision, block = StopDecision(False), 0
        while not decision.stop:
            arms = plan.arms(block)
            for arm in arms:
                _segment(session, plan, arm, block, warm=False)
            block += 1
            session.blocks = block
            session.observer.block_done(session)
            keys = list(dict.fromkeys((a.index, a.variant) for a in arms))
            decision = rule.decide(min(_counts(session, keys)), session.elapsed(),
                                   functools.partial(_walls, session, keys))
            session.precision = rule.last_precision
        session.stop_reason = decision.reason

    return run_guarded(session, measure)


def _segment(session: MeasurementSession, plan: BlockPlan, arm: Arm, block: int, *, warm: bool) -> None:
    with arm.in_force() if arm.in_force is not None else contextlib.nullcontext():
        for _ in range(arm.warmup + (arm.runs if warm else 0)):
            session.warm_once(arm.index)
            if plan.ran is not None:
                plan.ran(arm, None)
        if warm:
            return
        for _ in range(arm.runs):
            run = session.run_once(arm.index, block=block, variant=arm.variant)
            if plan.ran is not None:
                plan.ran(arm, run)


def _runs_of(session: MeasurementSession, key: tuple[int, str]) -> list[Run]:
    index, variant = key
    return [r for r in session.results[index].runs if r.variant == variant]


def _counts(session: MeasurementSession, keys: list[tuple[int, str]]) -> list[int]:
    """Measured runs per arm (command × variant) so far: the rule's ``n`` is the smallest."""
    return [len(_runs_of(session, key)) for key in keys] or [0]


def _walls(session: MeasurementSession, keys: list[tuple[int, str]]) -> list[list[float]]:
    """Each arm's wall times so far (as ``run_interleaved`` gives the rule each command's)."""
    return [[r.wall_s for r in _runs_of(session, key)] for key in keys]
