"""A suite's ``module:function`` benchmark: timed in this process with a calibrated inner loop
(``perflab.bench.inprocess``), the variants interleaved in randomized blocks like commands."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from perflab.bench.inprocess import calibrate, load_callable, time_sample
from perflab.bench.scheduler import StopRule
from perflab.lab.suite_prep import PreparedVariant, variant_in_force
from perflab.lab.suite_spec import BenchmarkSpec
from perflab.store.model import CommandResult, MetricSpec

if TYPE_CHECKING:
    from perflab.lab.suite import SuiteObserver


def measure_callable(
    variants: Sequence[PreparedVariant],
    b: BenchmarkSpec,
    inp: str,
    input_path: str | None,
    rng: random.Random,
    observer: SuiteObserver,
    names: list[str],
    cells: list[CommandResult],
) -> str | None:
    """Calibrate once per variant (≥ 10 ms per sample), then warm-up and measured samples in randomized
    blocks; the cells (per-call figures) are appended to ``cells`` also on failure or Ctrl-C."""
    assert b.callable is not None
    func = load_callable(b.callable, b.path)
    args = (input_path,) if input_path is not None else ()
    results = [
        CommandResult(
            name=n,
            command=b.callable,
            argv=[b.callable],
            parameters={"benchmark": b.name, "input": inp, "variant": v.spec.name},
            metrics=[MetricSpec("per_call_s", "", "s", False)],
            notes=[
                "timed in-process: wall, user and sys are per call (the sample's loop "
                "divided by its iterations)"
            ],
        )
        for n, v in zip(names, variants, strict=True)
    ]
    failure = None
    sequence = 0
    try:
        loops = []
        for v in variants:
            with variant_in_force(v, in_process=True):
                loops.append(calibrate(func, args))
        indices = list(range(len(variants)))
        rule = StopRule(b.settings.count)  # bench's rule: a fixed count, or adaptive on every variant
        block, started = -b.settings.warmup, time.monotonic()
        while True:
            if block == 0:
                started = time.monotonic()
            rng.shuffle(indices)
            for i in indices:
                with variant_in_force(variants[i], in_process=True):
                    run = time_sample(
                        func, args, loops[i], sequence=sequence, block=block, variant=variants[i].spec.name
                    )
                if block >= 0:
                    results[i].runs.append(run)
                    sequence += 1
                else:
                    results[i].warmup_runs += 1
                observer.advance(names[i])
            if block >= 0:
                n = min(len(r.runs) for r in results)
                walls = [[run.wall_s for run in r.runs] for r in results]
                if rule.decide(n, time.monotonic() - started, walls).stop:
                    break
            block += 1
    except Exception as error:  # the callable's own exception is the benchmark's failure
        failure = f"callable {b.callable!r} ({b.name}) raised {type(error).__name__}: {error}"
    finally:
        cells += results
    return failure
