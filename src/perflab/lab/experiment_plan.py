"""What an experiment measures — one command template over weighted inputs — and how it is checked.

A plan comes from the command line (``-- CMD {input}`` with ``--inputs``) or from a benchmark of a suite
file (its argv, the variant's variables, its inputs: files, or generated once with a recorded seed into a
private directory so every later candidate sees the same bytes).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.fsutil import ensure_private_dir, state_dir

CHECK_TIMEOUT_S = 600.0


@dataclass
class InputSpec:
    name: str
    value: str  # substituted for {input}
    weight: float = 1.0


@dataclass
class Plan:
    """What an experiment measures: one command template over several inputs."""

    command: list[str]  # argv template with {input}
    inputs: list[InputSpec]
    cwd: str
    build: str | None = None  # run in a private checkout before measuring a revision
    check: str | None = None  # must pass on the candidate: {input}, {candidate} substituted
    runs: int = 10
    warmup: int = 1
    max_cv: float = 0.10
    min_inputs: int = 3
    seed: int | None = None


def parse_inputs(values: list[str], cwd: Path) -> list[InputSpec]:
    """``NAME=VALUE[@WEIGHT]`` or ``PATH[@WEIGHT]``; existing paths made absolute (checkouts run apart)."""
    specs = []
    for raw in values:
        text, weight = raw, 1.0
        if "@" in raw:
            text, _, w = raw.rpartition("@")
            try:
                weight = float(w)
            except ValueError:
                raise PerflabError(f"--inputs {raw!r}: the weight after '@' must be a number") from None
            if not weight > 0 or weight != weight or weight == float("inf"):
                raise PerflabError(f"--inputs {raw!r}: the weight must be a positive number")
        name, sep, value = text.partition("=")
        if not sep:
            name, value = Path(text).name or text, text
        path = (cwd / value) if not os.path.isabs(value) else Path(value)
        specs.append(InputSpec(name, str(path.resolve()) if path.exists() else value, weight))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise PerflabError(f"--inputs: input names must be unique (got {', '.join(names)})")
    return specs


def substitute(argv: list[str], **values: str) -> list[str]:
    out = []
    for word in argv:
        for key, value in values.items():
            word = word.replace("{" + key + "}", value)
        out.append(word)
    return out


def coefficient_of_variation(values: list[float]) -> float:
    """The summary's CV (stddev / mean); NaN with fewer than 2 values."""
    from perflab.stats.summary import summarize

    return float(summarize(values).cv) if len(values) >= 2 else float("nan")


def plan_of(record: dict[str, Any]) -> Plan:
    data = dict(record["plan"])
    data["inputs"] = [InputSpec(**i) for i in data["inputs"]]
    return Plan(**data)


def run_check(check: str, candidate: list[str], inputs: list[InputSpec], cwd: Path) -> dict[str, Any]:
    """Run the correctness check once per input; it passes when every run exits 0."""
    results = []
    for spec in inputs:
        cand = shlex.join(substitute(candidate, input=spec.value))
        argv = [w.replace("{candidate}", cand) for w in substitute(shlex.split(check), input=spec.value)]
        try:
            done = subprocess.run(
                argv, cwd=cwd, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S, check=False
            )
            code, tail = done.returncode, (done.stdout + done.stderr)[-2000:]
        except FileNotFoundError:
            code, tail = 127, f"{argv[0]}: not found"
        except subprocess.TimeoutExpired:
            code, tail = -1, f"timed out after {CHECK_TIMEOUT_S:g} s"
        results.append({"input": spec.name, "argv": argv, "exit_code": code, "output_tail": tail})
    return {"command": check, "passed": all(r["exit_code"] == 0 for r in results), "runs": results}


def plan_from_suite(path: str, benchmark: str | None, variant: str | None, **settings: Any) -> Plan:
    """A benchmark of a suite file as an experiment plan (the variant's vars filled in, {input} kept)."""
    from perflab.lab.suite_file import load_suite
    from perflab.lab.suite_prep import prepare_input

    spec = load_suite(path)
    names = [b.name for b in spec.benchmarks]
    if benchmark is None and len(names) > 1:
        raise PerflabError(f"{path}: several benchmarks ({', '.join(names)}); choose one with --benchmark")
    chosen = next((b for b in spec.benchmarks if benchmark in (None, b.name)), None)
    if chosen is None:
        raise PerflabError(f"{path}: no benchmark {benchmark!r} (it has {', '.join(names)})")
    if chosen.callable is not None:
        raise PerflabError(
            f"{path}: benchmark {chosen.name!r} is a Python callable; experiments measure commands"
        )
    var = next((v for v in spec.variants if v.name == (variant or spec.reference)), None)
    if var is None:
        raise PerflabError(
            f"{path}: no variant {variant!r} (it has {', '.join(v.name for v in spec.variants)})"
        )
    if var.template or var.rev or var.profile or var.env:
        raise PerflabError(
            f"{path}: variant {var.name!r} uses env/template/rev/profile; an experiment's "
            "baseline is a plain command (use a variant with vars only)"
        )

    def fill(text: str) -> str:
        for key, value in var.vars.items():
            text = text.replace("{" + key + "}", value)
        return text

    if chosen.argv is not None:
        command = [fill(w) for w in chosen.argv]
    else:
        text = fill(chosen.command or "")
        command = ["sh", "-c", text] if chosen.shell else shlex.split(text)
    suite_dir = str(Path(path).resolve().parent)
    key = hashlib.sha256(f"{Path(path).resolve()}|{spec.seed}".encode()).hexdigest()[:16]
    workdir = ensure_private_dir(state_dir() / "inputs" / key)
    inputs = []
    for name in chosen.inputs:
        prepared = prepare_input(spec.inputs[name], str(workdir), spec.seed, cwd=suite_dir)
        inputs.append(InputSpec(name, prepared.path))
    settings.setdefault("runs", max(10, chosen.settings.runs or chosen.settings.count.min_runs))
    settings.setdefault("warmup", chosen.settings.warmup)
    return Plan(command=command, inputs=inputs, cwd=suite_dir, **settings)
