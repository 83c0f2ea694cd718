"""The suite file (``perflab.toml``): benchmarks × inputs × variants, metrics and the primary metric.

Parsed with ``tomllib`` (``lab.suite_toml`` finds the lines) into ``lab.suite_spec``; anything wrong
(TOML syntax, an unknown key, a wrong type, a dangling name) becomes one ``PerflabError`` naming
``file:line`` and the key. Unknown keys are errors, not ignored: a
typo (``warmpu = 3``) would otherwise silently change what is measured. The format::

    [suite]
    name = "compressors"
    reference = "gzip-1"      # default: the first variant
    metrics = ["wall", "user", "peak_rss"]   # wall user sys peak_rss instructions, or a [[metric]] name
    primary = "wall"
    runs = 10                 # defaults for every benchmark: a fixed run count per variant, or
    warmup = 1                #   adaptive (below); a benchmark may override each
    timeout = 60
    seed = 1                  # interleaving order; random (and recorded) when absent

    [inputs.text]             # a file, or generated once per run of the suite with a recorded seed
    generate = "python3 gen.py --seed {seed} --size 1000000 {output}"
    seed = 7

    [[benchmark]]
    name = "compress"
    command = "gzip -{level} -c {input}"    # or argv = [...]; shell = true for sh -c
    inputs = ["text"]
    runs = 20

    [[benchmark]]
    name = "decompress"
    command = "gzip -d -c {input}.gz"
    min-runs = 10             # adaptive, as perflab bench --min-runs/--max-runs/--max-time/
    max-runs = 200            #   --target-precision/--min-benchmarking-time (same defaults: 10, 1000,
    max-time = 30             #   5 s, 0.01, 0): after min-runs blocks, stop when every variant's 95 % CI
    target-precision = 0.02   #   half-width of the median is within 2 % of it, or at max-runs/max-time

    [[benchmark]]
    name = "sort"
    callable = "mymodule:sort_list"      # timed in-process, calibrated inner loop; path = "src"

    [[variant]]
    name = "gzip-1"
    vars = { level = "1" }               # {level} in the command
    env = { GZIP = "" }
    template = "nice -n 0 {command}"     # wraps the command
    profile = "tuning.toml"              # a tuning profile applied (journaled) for this variant's runs
    rev = "main"                         # a git revision, built into a private worktree
    build = "make"
    vm = { kernel = "linux-image-6.1.deb", accel = "tcg" }   # run in a VM guest: see lab.suite_vm

Run counts: ``runs`` fixes the count; any of ``min-runs``, ``max-runs``, ``max-time``,
``target-precision``, ``min-benchmarking-time`` makes it adaptive (bench's rule and names, per benchmark ×
input, over all its variants); both kinds in one table is an error. A benchmark table with neither inherits
the ``[suite]`` defaults; one with adaptive keys starts from the suite's adaptive values (or bench's
defaults). Adaptive counts apply to callables too.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from perflab.bench.scheduler import RunCount
from perflab.errors import OptionError, PerflabError
from perflab.fsutil import read_text_bounded
from perflab.lab.suite_spec import (
    BUILT_IN_METRICS,
    BenchmarkSpec,
    InputSpec,
    RunSettings,
    SuiteSpec,
    VariantSpec,
)
from perflab.lab.suite_toml import TomlReader
from perflab.lab.suite_vm import VM_METRICS, check_vm_suite, parse_vm_table
from perflab.store.model import MetricSpec

SUITE_LIMIT = 4 * 1024 * 1024  # bytes of a suite file

_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
#: bench's adaptive options, by their flag names (without --), and the RunCount field each sets
ADAPTIVE_KEYS = {
    "min-runs": "min_runs",
    "max-runs": "max_runs",
    "max-time": "max_time_s",
    "target-precision": "target_precision",
    "min-benchmarking-time": "min_time_s",
}
_RUN_KEYS = {"runs", "warmup", "timeout", *ADAPTIVE_KEYS}
_SUITE_KEYS = {"name", "reference", "metrics", "primary", "seed", *_RUN_KEYS}
_BENCH_KEYS = {"name", "command", "argv", "shell", "callable", "path", "inputs", *_RUN_KEYS}
_VARIANT_KEYS = {"name", "env", "vars", "template", "profile", "rev", "build", "repo", "vm"}
_INPUT_KEYS = {"file", "generate", "seed"}
_METRIC_KEYS = {"name", "regex", "unit", "direction"}
_TOP_KEYS = {"suite", "inputs", "benchmark", "variant", "metric"}


def load_suite(path: str | Path) -> SuiteSpec:
    """Read and check a suite file; every problem is one PerflabError naming file:line and key."""
    path = Path(path)
    text = read_text_bounded(path, limit=SUITE_LIMIT, what="suite file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None) or _line_from_message(str(error))
        raise PerflabError(f"{path}:{line}: malformed TOML: {str(error).split(' (at ')[0]}") from None
    except ValueError as error:  # an integer of more than 4,300 digits
        raise PerflabError(f"{path}: malformed TOML: {str(error).split(';')[0]}") from None
    except RecursionError:
        raise PerflabError(f"{path}: malformed TOML: nested too deeply") from None
    return _parse(TomlReader(path, text), data, path)


def _line_from_message(message: str) -> int:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else 1


def _run_settings(
    r: TomlReader, table: dict[str, Any], where: tuple[Any, ...], base: RunSettings
) -> RunSettings:
    """A table's run settings over ``base``: ``runs`` (fixed) or bench's adaptive keys, not both."""
    adaptive = [k for k in ADAPTIVE_KEYS if k in table]
    if "runs" in table and adaptive:
        raise r.fail(
            (*where, adaptive[0]),
            "'runs' fixes the run count; it cannot be combined with the adaptive keys "
            f"({', '.join(ADAPTIVE_KEYS)})",
        )
    count = base.count
    if "runs" in table:
        count = RunCount(runs=r.positive(table, "runs", where, None, minimum=2))
    elif adaptive:
        start = count if count.runs is None else RunCount()
        given: dict[str, Any] = {}
        for key in adaptive:
            field_name = ADAPTIVE_KEYS[key]
            integer = field_name.endswith("_runs")
            given[field_name] = r.positive(
                table, key, where, None, minimum=2 if integer else 0, kind=int if integer else (int, float)
            )
        count = replace(start, runs=None, **given)
        if "min_runs" in given and "max_runs" not in given:
            count = replace(count, max_runs=max(count.max_runs, count.min_runs))
        count = replace(count, max_time_s=max(count.max_time_s, count.min_time_s))  # as perflab bench
        try:
            count.validate()
        except OptionError as error:
            names = {f: k for k, f in ADAPTIVE_KEYS.items()}
            key = names.get(str(error.option), adaptive[0])
            reason = error.reason
            if error.other is not None:
                reason = f"{reason} {names.get(error.other[0], error.other[0])} = {error.other[1]!r}"
            raise r.fail((*where, key if key in table else adaptive[0]), reason) from None
    return RunSettings(
        count=count,
        warmup=r.positive(table, "warmup", where, base.warmup, minimum=0),
        timeout_s=r.positive(table, "timeout", where, base.timeout_s, minimum=0.001, kind=(int, float)),
    )


def _parse(r: TomlReader, data: dict[str, Any], path: Path) -> SuiteSpec:
    r.table(data, (), _TOP_KEYS)
    base = path.resolve().parent
    suite = r.table(data.get("suite", {}), ("suite",), _SUITE_KEYS)
    where = ("suite",)
    defaults = _run_settings(r, suite, where, RunSettings())
    custom = _metrics(r, data.get("metric", []))
    inputs = _inputs(r, data.get("inputs", {}), base)
    benchmarks = _benchmarks(r, data.get("benchmark"), defaults, inputs, base)
    variants = _variants(r, data.get("variant"), base)
    names = [v.name for v in variants]
    reference = r.get(suite, "reference", str, where, names[0])
    if reference not in names:
        raise r.fail((*where, "reference"), f"no variant named {reference!r} (have {', '.join(names)})")
    in_vm = any(v.vm is not None for v in variants)
    built_in = [*BUILT_IN_METRICS, *(VM_METRICS[1:] if in_vm else ())]
    known = [*built_in, *(m.name for m in custom)]
    metrics = r.strings(suite, "metrics", where) or list(VM_METRICS if in_vm else ["wall"])
    check_vm_suite(r, variants, benchmarks, metrics)
    for m in metrics:
        if m not in known:
            raise r.fail(
                (*where, "metrics"),
                f"unknown metric {m!r} (built in: {', '.join(built_in)}; "
                "or define it in a [[metric]] table)",
            )
    for m in custom:
        if m.name not in metrics:
            metrics.append(m.name)
    primary = r.get(suite, "primary", str, where, metrics[0])
    if primary not in metrics:
        raise r.fail((*where, "primary"), f"{primary!r} is not one of the metrics ({', '.join(metrics)})")
    _check_variants_fit(r, benchmarks, variants, metrics)
    seed = r.get(suite, "seed", int, where)
    return SuiteSpec(
        path=str(path),
        name=r.get(suite, "name", str, where, path.stem),
        benchmarks=benchmarks,
        variants=variants,
        inputs=inputs,
        reference=reference,
        metrics=metrics,
        primary=primary,
        custom_metrics=custom,
        seed=seed,
    )


def _metrics(r: TomlReader, items: Any) -> list[MetricSpec]:
    if not isinstance(items, list):
        raise r.fail(("metric",), "expected [[metric]] tables")
    out = []
    for i, item in enumerate(items):
        where = ("metric", i)
        r.table(item, where, _METRIC_KEYS)
        name = _name(r, item, where)
        if name in BUILT_IN_METRICS:
            raise r.fail((*where, "name"), f"{name!r} is a built-in metric")
        regex = r.get(item, "regex", str, where)
        if regex is None:
            raise r.fail(where, "missing key 'regex' (a regular expression with one capture group)")
        try:
            if re.compile(regex).groups < 1:
                raise r.fail((*where, "regex"), "needs a capture group around the number")
        except re.error as error:
            raise r.fail((*where, "regex"), f"bad regular expression: {error}") from None
        direction = r.get(item, "direction", str, where, "lower")
        if direction not in ("lower", "higher"):
            raise r.fail((*where, "direction"), "expected 'lower' or 'higher' (which is better)")
        out.append(
            MetricSpec(
                name=name,
                regex=regex,
                unit=r.get(item, "unit", str, where, ""),
                higher_is_better=direction == "higher",
            )
        )
    return out


def _name(r: TomlReader, item: dict[str, Any], where: tuple[Any, ...]) -> str:
    name = r.get(item, "name", str, where)
    if name is None:
        raise r.fail(where, "missing key 'name'")
    if not _NAME.match(name):
        raise r.fail((*where, "name"), f"{name!r}: use letters, digits and . _ + - only")
    return name


def _inputs(r: TomlReader, table: Any, base: Path) -> dict[str, InputSpec]:
    if not isinstance(table, dict):
        raise r.fail(("inputs",), "expected [inputs.NAME] tables")
    out = {}
    for name, item in table.items():
        where = ("inputs", name)
        r.table(item, where, _INPUT_KEYS)
        file, generate = r.get(item, "file", str, where), r.get(item, "generate", str, where)
        if (file is None) == (generate is None):
            raise r.fail(where, "give exactly one of 'file' or 'generate'")
        if generate is not None and "{output}" not in generate:
            raise r.fail((*where, "generate"), "the command must write to {output}")
        file = r.existing_path(item, "file", where, base)
        out[name] = InputSpec(name=name, file=file, generate=generate, seed=r.get(item, "seed", int, where))
    return out


def _benchmarks(
    r: TomlReader, items: Any, defaults: RunSettings, inputs: dict[str, InputSpec], base: Path
) -> list[BenchmarkSpec]:
    if not items:
        raise r.fail(("benchmark",), "no [[benchmark]] table: nothing to measure")
    if not isinstance(items, list):
        raise r.fail(("benchmark",), "expected [[benchmark]] tables")
    out: list[BenchmarkSpec] = []
    for i, item in enumerate(items):
        where = ("benchmark", i)
        r.table(item, where, _BENCH_KEYS)
        name = _name(r, item, where)
        if any(b.name == name for b in out):
            raise r.fail((*where, "name"), f"{name!r} is used twice")
        command, argv = r.get(item, "command", str, where), r.strings(item, "argv", where)
        target = r.get(item, "callable", str, where)
        if sum(x is not None for x in (command, argv, target)) != 1:
            raise r.fail(where, "give exactly one of 'command', 'argv' or 'callable'")
        if target is not None and not re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", target):
            raise r.fail((*where, "callable"), f"{target!r}: expected 'module:function'")
        if argv is not None and not argv:
            raise r.fail((*where, "argv"), "empty")
        names = r.strings(item, "inputs", where) or []
        for n in names:
            if n not in inputs:
                raise r.fail((*where, "inputs"), f"no input named {n!r} (define [inputs.{n}])")
        text = command or " ".join(argv or [])
        if names and target is None and "{input}" not in text:
            raise r.fail((*where, "inputs"), "the command does not use {input}")
        settings = _run_settings(r, item, where, defaults)
        path = r.get(item, "path", str, where)
        out.append(
            BenchmarkSpec(
                name=name,
                command=command,
                argv=argv,
                shell=r.get(item, "shell", bool, where, False),
                callable=target,
                path=str((base / path).resolve()) if path else None,
                inputs=names,
                settings=settings,
            )
        )
    return out


def _variants(r: TomlReader, items: Any, base: Path) -> list[VariantSpec]:
    if not items:
        return [VariantSpec(name="default")]
    if not isinstance(items, list):
        raise r.fail(("variant",), "expected [[variant]] tables")
    out: list[VariantSpec] = []
    for i, item in enumerate(items):
        where = ("variant", i)
        r.table(item, where, _VARIANT_KEYS)
        name = _name(r, item, where)
        if any(v.name == name for v in out):
            raise r.fail((*where, "name"), f"{name!r} is used twice")
        template = r.get(item, "template", str, where)
        if template is not None and "{command}" not in template:
            raise r.fail((*where, "template"), "must contain {command}")
        profile = r.existing_path(item, "profile", where, base)
        rev, build = r.get(item, "rev", str, where), r.get(item, "build", str, where)
        repo = r.get(item, "repo", str, where)
        if (build is not None or repo is not None) and rev is None:
            raise r.fail(where, "'build' and 'repo' need 'rev'")
        out.append(
            VariantSpec(
                name=name,
                env=r.mapping(item, "env", where),
                vars=r.mapping(item, "vars", where),
                template=template,
                profile=profile,
                rev=rev,
                build=build,
                repo=str((base / repo).resolve()) if repo else (str(base) if rev else None),
                vm=parse_vm_table(r, item, where, base),
            )
        )
    return out


def _check_variants_fit(
    r: TomlReader, benchmarks: list[BenchmarkSpec], variants: list[VariantSpec], metrics: list[str]
) -> None:
    """A callable runs in this process: a command template, vars or a git revision cannot apply to it."""
    for v_index, v in enumerate(variants):
        for b in benchmarks:
            if b.is_callable and "instructions" in metrics:
                raise r.fail(
                    ("suite", "metrics"),
                    f"instructions are counted for commands, not for the callable benchmark {b.name!r}",
                )
            if b.is_callable and (v.template or v.vars or v.rev):
                key = "template" if v.template else ("vars" if v.vars else "rev")
                raise r.fail(
                    ("variant", v_index, key),
                    f"does not apply to the callable benchmark "
                    f"{b.name!r} (it runs in-process); use env or profile",
                )
            if not b.is_callable:
                text = b.command or " ".join(b.argv or [])
                for placeholder in re.findall(r"\{(\w+)\}", text):
                    if placeholder != "input" and placeholder not in v.vars:
                        raise r.fail(
                            ("variant", v_index),
                            f"benchmark {b.name!r} uses {{{placeholder}}} "
                            f"but variant {v.name!r} has no vars.{placeholder}",
                        )
