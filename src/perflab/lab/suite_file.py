"""The suite file (``perflab.toml``): benchmarks × inputs × variants, metrics and the primary metric.

Parsed with ``tomllib``; anything wrong (TOML syntax, an unknown key, a wrong type, a dangling name)
becomes one ``PerflabError`` naming ``file:line`` and the key. Unknown keys are errors, not ignored: a
typo (``warmpu = 3``) would otherwise silently change what is measured. The format::

    [suite]
    name = "compressors"
    reference = "gzip-1"      # default: the first variant
    metrics = ["wall", "user", "peak_rss"]   # wall user sys peak_rss instructions, or a [[metric]] name
    primary = "wall"
    runs = 10                 # defaults for every benchmark
    warmup = 1
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
    vm = { kernel = "vmlinuz-6.1.deb", accel = "tcg" }   # run in a VM guest: see perflab.lab.suite_vm
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.fsutil import read_text_bounded
from perflab.lab.suite_vm import VM_METRICS, VmVariantSpec, check_vm_suite, parse_vm_table
from perflab.store.model import MetricSpec

SUITE_LIMIT = 4 * 1024 * 1024  # bytes of a suite file

BUILT_IN_METRICS = ("wall", "user", "sys", "peak_rss", "instructions")
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


@dataclass
class RunSettings:
    runs: int = 10
    warmup: int = 1
    timeout_s: float | None = None


@dataclass
class InputSpec:
    name: str
    file: str | None = None  # absolute path
    generate: str | None = None  # command with {output} and {seed}
    seed: int | None = None


@dataclass
class BenchmarkSpec:
    name: str
    command: str | None = None
    argv: list[str] | None = None
    shell: bool = False
    callable: str | None = None  # "module:function"
    path: str | None = None  # added to sys.path for the callable
    inputs: list[str] = field(default_factory=list)
    settings: RunSettings = field(default_factory=RunSettings)

    @property
    def is_callable(self) -> bool:
        return self.callable is not None


@dataclass
class VariantSpec:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    template: str | None = None
    profile: str | None = None  # absolute path of a tuning profile
    rev: str | None = None
    build: str | None = None
    repo: str | None = None  # absolute path; default: the suite file's directory
    vm: VmVariantSpec | None = None  # run the benchmarks in a VM guest booting this kernel


@dataclass
class SuiteSpec:
    path: str
    name: str
    benchmarks: list[BenchmarkSpec]
    variants: list[VariantSpec]
    inputs: dict[str, InputSpec]
    reference: str
    metrics: list[str]
    primary: str
    custom_metrics: list[MetricSpec] = field(default_factory=list)
    seed: int | None = None

    @property
    def directory(self) -> str:
        return str(Path(self.path).resolve().parent)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly record of the suite, stored with its result."""
        from dataclasses import asdict

        return asdict(self)


_SUITE_KEYS = {"name", "reference", "metrics", "primary", "runs", "warmup", "timeout", "seed"}
_BENCH_KEYS = {"name", "command", "argv", "shell", "callable", "path", "inputs", "runs", "warmup", "timeout"}
_VARIANT_KEYS = {"name", "env", "vars", "template", "profile", "rev", "build", "repo", "vm"}
_INPUT_KEYS = {"file", "generate", "seed"}
_METRIC_KEYS = {"name", "regex", "unit", "direction"}
_TOP_KEYS = {"suite", "inputs", "benchmark", "variant", "metric"}


class _Reader:
    """Typed access to the parsed TOML with errors that name file:line and the key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, where: tuple[Any, ...]) -> int:
        """Best line for a key path like ("benchmark", 2, "runs"): the table header, then the key."""
        line = 0
        table, index, key = (list(where) + [None, None, None])[:3]
        if isinstance(index, int):
            header = re.compile(rf"^\s*\[\[\s*{re.escape(str(table))}\s*\]\]")
            seen = -1
            for i, text in enumerate(self.lines):
                if header.match(text):
                    seen += 1
                    if seen == index:
                        line = i
                        break
        elif table is not None:
            dotted = str(table) if index is None else f"{table}.{index}"
            header = re.compile(rf"^\s*\[\s*{re.escape(dotted)}\s*\]")
            line = next((i for i, t in enumerate(self.lines) if header.match(t)), 0)
        name = key if isinstance(index, int) else index
        if name is not None:
            pattern = re.compile(rf"^\s*\"?{re.escape(str(name))}\"?\s*=")
            for i in range(line, len(self.lines)):
                if i > line and re.match(r"^\s*\[", self.lines[i]):
                    break
                if pattern.match(self.lines[i]):
                    return i + 1
        return line + 1

    def fail(self, where: tuple[Any, ...], reason: str) -> PerflabError:
        key = ".".join(str(w) if not isinstance(w, int) else f"[{w}]" for w in where).replace(".[", "[")
        return PerflabError(f"{self.path}:{self.line_of(where)}: {key}: {reason}")

    def table(self, data: Any, where: tuple[Any, ...], allowed: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, "expected a table")
        for key in data:
            if key not in allowed:
                raise self.fail((*where, key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return data

    def get(
        self,
        data: dict[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        where: tuple[Any, ...],
        default: Any = None,
    ) -> Any:
        if key not in data:
            return default
        value = data[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, float, (int, float)))
        if not ok:
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail((*where, key), f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def strings(self, data: dict[str, Any], key: str, where: tuple[Any, ...]) -> list[str] | None:
        value = self.get(data, key, list, where)
        if value is not None and not all(isinstance(v, str) for v in value):
            raise self.fail((*where, key), "expected a list of strings")
        return value

    def mapping(self, data: dict[str, Any], key: str, where: tuple[Any, ...]) -> dict[str, str]:
        value = self.get(data, key, dict, where, {})
        if not all(isinstance(v, str) for v in value.values()):
            raise self.fail((*where, key), 'expected string values (quote numbers: level = "9")')
        return dict(value)

    def positive(
        self, data: dict[str, Any], key: str, where: tuple[Any, ...], default: Any, *, minimum: float = 1
    ) -> Any:
        value = self.get(data, key, (int, float) if key == "timeout" else int, where, default)
        if value is not None and value < minimum:
            raise self.fail((*where, key), f"must be at least {minimum:g}")
        return value


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
    return _parse(_Reader(path, text), data, path)


def _line_from_message(message: str) -> int:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else 1


def _parse(r: _Reader, data: dict[str, Any], path: Path) -> SuiteSpec:
    r.table(data, (), _TOP_KEYS)
    base = path.resolve().parent
    suite = r.table(data.get("suite", {}), ("suite",), _SUITE_KEYS)
    where = ("suite",)
    defaults = RunSettings(
        runs=r.positive(suite, "runs", where, 10, minimum=2),
        warmup=r.positive(suite, "warmup", where, 1, minimum=0),
        timeout_s=r.positive(suite, "timeout", where, None, minimum=0.001),
    )
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


def _metrics(r: _Reader, items: Any) -> list[MetricSpec]:
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


def _name(r: _Reader, item: dict[str, Any], where: tuple[Any, ...]) -> str:
    name = r.get(item, "name", str, where)
    if name is None:
        raise r.fail(where, "missing key 'name'")
    if not _NAME.match(name):
        raise r.fail((*where, "name"), f"{name!r}: use letters, digits and . _ + - only")
    return name


def _inputs(r: _Reader, table: Any, base: Path) -> dict[str, InputSpec]:
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
        if file is not None:
            resolved = (base / file).resolve()
            if not resolved.is_file():
                raise r.fail((*where, "file"), f"{resolved}: no such file")
            file = str(resolved)
        out[name] = InputSpec(name=name, file=file, generate=generate, seed=r.get(item, "seed", int, where))
    return out


def _benchmarks(
    r: _Reader, items: Any, defaults: RunSettings, inputs: dict[str, InputSpec], base: Path
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
        settings = RunSettings(
            runs=r.positive(item, "runs", where, defaults.runs, minimum=2),
            warmup=r.positive(item, "warmup", where, defaults.warmup, minimum=0),
            timeout_s=r.positive(item, "timeout", where, defaults.timeout_s, minimum=0.001),
        )
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


def _variants(r: _Reader, items: Any, base: Path) -> list[VariantSpec]:
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
        profile = r.get(item, "profile", str, where)
        if profile is not None:
            resolved = (base / profile).resolve()
            if not resolved.is_file():
                raise r.fail((*where, "profile"), f"{resolved}: no such file")
            profile = str(resolved)
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
    r: _Reader, benchmarks: list[BenchmarkSpec], variants: list[VariantSpec], metrics: list[str]
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
