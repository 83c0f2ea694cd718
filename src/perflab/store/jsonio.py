"""Reading result files: perflab's own JSON and hyperfine's ``--export-json`` schema.

Lives in ``store`` (not ``report``) because ``Store.resolve`` accepts a JSON path and the store may not
import the report layer. Every malformed input becomes a ``PerflabError`` naming the file and the
line/column (syntax) or the JSON path of the bad field (schema), never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perflab import fsutil
from perflab.errors import PerflabError
from perflab.store.model import Benchmark, CommandResult, MetricSpec, Run

JSON_LIMIT = 512 * 1024 * 1024  # bytes of a result file (a million runs is ~50 MB)
MAX_SECONDS = 1e9  # a run of 31 years: anything longer is not a measurement (and overflows ns)
MAX_BYTES = 2**62  # peak memory
EXIT_CODE_RANGE = (-(2**31), 2**31)

HYPERFINE_FIELDS = (
    "command", "mean", "stddev", "median", "user", "system", "min", "max",
    "times", "memory_usage_byte", "exit_codes", "parameters",
)  # fmt: skip


def load_json(path: str | Path) -> Any:
    """Parse a JSON file; syntax errors name ``path:line:col``."""
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        raise PerflabError(f"{p}: no such file")
    text = fsutil.read_text_bounded(p, limit=JSON_LIMIT, what="JSON file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PerflabError(f"{p}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from None
    except RecursionError:
        raise PerflabError(f"{p}: invalid JSON: nested too deeply") from None
    try:  # "\ud800" decodes to a lone surrogate that no file or database can hold later
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        bad = error.object[error.start]
        raise PerflabError(f"{p}: invalid JSON: a string holds a lone surrogate ({bad!a})") from None
    except RecursionError:
        raise PerflabError(f"{p}: invalid JSON: nested too deeply") from None
    return data


def _number(path: Path, where: str, value: Any, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PerflabError(f"{path}: {where}: expected a finite number, got {json.dumps(value)}")
    return float(value)


def parse_hyperfine(data: Any, path: str | Path = "<json>") -> Benchmark:
    """Turn hyperfine's ``{"results": [...]}`` into a Benchmark with one Run per entry of ``times``.

    hyperfine exports only the *mean* user and system time, so every imported run carries that mean
    (``settings["per_run_cpu_times"] = False`` tells the analysis not to compute a spread from them).
    hyperfine runs commands one after the other, so that is the recorded order.
    """
    p = Path(path)
    if not isinstance(data, dict):
        raise PerflabError(f"{p}: top level must be an object with a 'results' list")
    if "results" not in data:
        raise PerflabError(f"{p}: missing field 'results' (not a hyperfine JSON export)")
    results = data["results"]
    if not isinstance(results, list) or not results:
        raise PerflabError(f"{p}: 'results' must be a non-empty list")
    commands: list[CommandResult] = []
    order: list[int] = []
    sequence = 0
    for i, entry in enumerate(results):
        where = f"results[{i}]"
        if not isinstance(entry, dict):
            raise PerflabError(f"{p}: {where}: expected an object")
        for required in ("command", "times"):
            if required not in entry:
                raise PerflabError(f"{p}: {where}: missing field '{required}'")
        command = entry["command"]
        if not isinstance(command, str):
            raise PerflabError(f"{p}: {where}.command: expected a string")
        times = entry["times"]
        if not isinstance(times, list) or not times:
            raise PerflabError(f"{p}: {where}.times: expected a non-empty list of seconds")
        walls = [_number(p, f"{where}.times[{j}]", t) for j, t in enumerate(times)]
        if any(w is not None and not 0 <= w <= MAX_SECONDS for w in walls):
            raise PerflabError(f"{p}: {where}.times: a time outside 0 – {MAX_SECONDS:g} s")
        n = len(walls)
        user = _number(p, f"{where}.user", entry.get("user", 0.0))
        system = _number(p, f"{where}.system", entry.get("system", 0.0))
        for label, value in (("user", user), ("system", system)):
            if value is not None and not 0 <= value <= MAX_SECONDS:
                raise PerflabError(f"{p}: {where}.{label}: outside 0 – {MAX_SECONDS:g} s")
        exit_codes = entry.get("exit_codes", [0] * n)
        if not isinstance(exit_codes, list) or len(exit_codes) != n:
            raise PerflabError(f"{p}: {where}.exit_codes: expected a list of {n} entries (one per time)")
        for j, code in enumerate(exit_codes):
            if code is not None and (isinstance(code, bool) or not isinstance(code, int)
                                     or not EXIT_CODE_RANGE[0] <= code < EXIT_CODE_RANGE[1]):
                raise PerflabError(f"{p}: {where}.exit_codes[{j}]: expected a 32-bit integer or null")
        memory = entry.get("memory_usage_byte")
        if memory is not None and (not isinstance(memory, list) or len(memory) != n):
            raise PerflabError(f"{p}: {where}.memory_usage_byte: expected a list of {n} entries")
        parameters = entry.get("parameters", {}) or {}
        if not isinstance(parameters, dict):
            raise PerflabError(f"{p}: {where}.parameters: expected an object")
        runs = []
        for j, wall in enumerate(walls):
            rss = None
            if memory is not None:
                rss = _number(p, f"{where}.memory_usage_byte[{j}]", memory[j])
                if rss is not None and not 0 <= rss <= MAX_BYTES:
                    raise PerflabError(f"{p}: {where}.memory_usage_byte[{j}]: outside 0 – 2^62 bytes")
            runs.append(
                Run(
                    sequence=sequence,
                    wall_ns=round((wall or 0.0) * 1e9),
                    user_s=user or 0.0,
                    sys_s=system or 0.0,
                    exit_code=exit_codes[j],
                    peak_rss_bytes=None if rss is None else int(rss),
                )
            )
            order.append(i)
            sequence += 1
        commands.append(
            CommandResult(
                name=command,
                command=command,
                argv=[],
                parameters={str(k): str(v) for k, v in parameters.items()},
                runs=runs,
                memory_note=None if memory is not None else "not in the hyperfine export",
                notes=["imported from hyperfine: user/sys per run are the exported means"],
            )
        )
    return Benchmark(
        commands=commands,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        kind="import",
        order=order,
        settings={"imported_from": "hyperfine", "source": str(p), "per_run_cpu_times": False},
    )


def _filtered(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def benchmark_from_dict(data: dict[str, Any], path: str | Path = "<json>") -> Benchmark:
    """Build a Benchmark from perflab's own JSON, ignoring fields a newer perflab may have added."""
    p = Path(path)
    try:
        commands = []
        for c in data["commands"]:
            c = _filtered(CommandResult, dict(c))
            c["runs"] = [Run(**_filtered(Run, r)) for r in c.get("runs", [])]
            c["metrics"] = [MetricSpec(**_filtered(MetricSpec, m)) for m in c.get("metrics", [])]
            commands.append(CommandResult(**c))
        rest = _filtered(Benchmark, {k: v for k, v in data.items() if k != "commands"})
        rest.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
        return Benchmark(commands=commands, **rest)
    except KeyError as error:
        raise PerflabError(f"{p}: missing field {error}") from None
    except (TypeError, AttributeError) as error:
        raise PerflabError(f"{p}: not a perflab result: {error}") from None


def load_result_file(path: str | Path) -> Benchmark:
    """A JSON file of any kind perflab reads: perflab's (``commands``), hyperfine's (``results``) or
    pyperf's (``benchmarks``)."""
    return parse_result(load_json(path), path)


def parse_result(data: Any, path: str | Path) -> Benchmark:
    """Parsed JSON of any kind perflab reads (see ``load_result_file``)."""
    from perflab.store.pyperf_json import is_pyperf, parse_pyperf

    if isinstance(data, dict) and isinstance(data.get("benchmark"), dict):
        data = data["benchmark"]
    if isinstance(data, dict) and "commands" in data:
        return benchmark_from_dict(data, path)
    if isinstance(data, dict) and "results" in data:
        return parse_hyperfine(data, path)
    if is_pyperf(data):
        return parse_pyperf(data, path)
    raise PerflabError(f"{path}: not a perflab result ('commands'), a hyperfine export ('results') nor a "
                       "pyperf file ('benchmarks')")


def import_result_file(path: str | Path) -> Benchmark:
    """A hyperfine or pyperf file to import, with the SHA-256 of its bytes in ``settings`` (so importing
    the same file twice can be noticed)."""
    import hashlib

    data = load_json(path)
    bench = parse_result(data, path)
    if bench.kind != "import":
        raise PerflabError(f"{path}: a perflab result, not a hyperfine or pyperf export: it needs no import "
                           "(commands accept a JSON file directly)")
    bench.settings["source_sha256"] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return bench


def json_safe(value: Any) -> Any:
    """JSON has no NaN/Infinity: undefined figures become null (recursively through dicts and lists)."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
