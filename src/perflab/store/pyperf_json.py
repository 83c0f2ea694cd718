"""Reading pyperf's JSON (``python -m pyperf timeit -o FILE``, ``Runner`` output, suites).

pyperf writes ``{"version": "1.0", "metadata": {...}, "benchmarks": [{"metadata": {"name": ...},
"runs": [{"warmups": [[loops, value], ...], "values": [...], "metadata": {...}}]}]}``; metadata common
to every benchmark sits at the top. A value is the mean time of one loop iteration over ``loops``
iterations, in ``unit`` (only ``second`` is a time). Each value becomes one perflab run; warm-ups and
calibration runs (no ``values``) are counted, not measured. pyperf records no per-value user/sys time,
exit code or memory: the notes say so.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.store.model import Benchmark, CommandResult, Run


def is_pyperf(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("benchmarks"), list) and "version" in data


def parse_pyperf(data: Any, path: str | Path = "<json>") -> Benchmark:
    """A Benchmark with one command per pyperf benchmark; errors name the file and the JSON path."""
    p = Path(path)
    if not is_pyperf(data):
        raise PerflabError(f"{p}: not a pyperf file (expected 'version' and a 'benchmarks' list)")
    common = data.get("metadata") or {}
    if not isinstance(common, dict) or not data["benchmarks"]:
        raise PerflabError(f"{p}: 'benchmarks' is empty or 'metadata' is not an object")
    commands: list[CommandResult] = []
    order: list[int] = []
    for i, bench in enumerate(data["benchmarks"]):
        where = f"benchmarks[{i}]"
        if not isinstance(bench, dict) or not isinstance(bench.get("runs"), list):
            raise PerflabError(f"{p}: {where}: expected an object with a 'runs' list")
        meta = {**common, **(bench.get("metadata") or {})}
        unit = meta.get("unit", "second")
        if unit != "second":
            raise PerflabError(f"{p}: {where}: unit {unit!r} is not a time; perflab imports pyperf results "
                               "in seconds only")
        name = str(meta.get("name") or f"benchmark {i + 1}")
        runs: list[Run] = []
        warmups = 0
        for j, run in enumerate(bench["runs"]):
            if not isinstance(run, dict):
                raise PerflabError(f"{p}: {where}.runs[{j}]: expected an object")
            warmups += len(run.get("warmups") or [])
            for k, value in enumerate(run.get("values") or []):
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                        or value < 0:
                    raise PerflabError(f"{p}: {where}.runs[{j}].values[{k}]: expected seconds, got {value!r}")
                runs.append(Run(sequence=len(order), wall_ns=round(value * 1e9), user_s=0.0, sys_s=0.0,
                                exit_code=0, block=j))
                order.append(i)
        if not runs:
            raise PerflabError(f"{p}: {where} ({name}): no run has values")
        loops = meta.get("loops")
        commands.append(CommandResult(
            name=name, command=str(meta.get("timeit_stmt") or meta.get("command") or name), argv=[],
            runs=runs, warmup_runs=warmups,
            memory_note="not recorded by pyperf",
            notes=["imported from pyperf: each run is one value, the mean time of one loop iteration"
                   + (f" over {loops} loops" if loops else "") + "; no user/sys time, exit code or memory"]))
    created = common.get("date") or datetime.now(UTC).isoformat(timespec="seconds")
    return Benchmark(commands=commands, created_at=str(created), kind="import", order=order,
                     settings={"imported_from": "pyperf", "source": str(p), "per_run_cpu_times": False,
                               "pyperf_version": common.get("perf_version")})
