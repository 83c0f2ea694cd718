"""The ``instructions`` metric: a near-deterministic figure for gates on noisy shared machines.

Where the CPU exposes performance counters, ``perf stat -e instructions:u`` counts the user-space
instructions the command retired (a hardware count). Otherwise valgrind's cachegrind counts the
instructions it executes in its simulator (``I refs``): labelled *simulated*, since it runs the program on
a synthetic CPU (much slower, and system calls are not counted). perflab installs neither; when both are
missing the error says so.

The counting run is a separate, untimed run of the same command (same argv, environment, directory and
stdin): wrapping a timed run would measure the counter's overhead instead of the program.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError

PERF_EVENT = "instructions:u"
COUNT_TIMEOUT_S = 600
_VALGRIND_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


@dataclass(frozen=True)
class InstructionCounter:
    """How instructions are counted here: ``perf`` (hardware) or ``valgrind`` (simulated)."""

    kind: str
    program: str

    @property
    def label(self) -> str:
        if self.kind == "perf":
            return f"instructions: hardware count (perf stat -e {PERF_EVENT})"
        return "instructions: simulated (valgrind --tool=cachegrind, I refs; no hardware counters here)"

    def count(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdin: str | None = None,
    ) -> int:
        """Instructions one run of ``argv`` executed; PerflabError when the run fails or gives no count."""
        with tempfile.TemporaryDirectory(prefix="perflab-instr-") as tmp:
            log = Path(tmp) / "count"
            if self.kind == "perf":
                wrapped = [self.program, "stat", "-x", ",", "-e", PERF_EVENT, "-o", str(log), "--", *argv]
            else:
                wrapped = [
                    self.program,
                    "--tool=cachegrind",
                    "--cache-sim=no",
                    "--cachegrind-out-file=/dev/null",
                    f"--log-file={log}",
                    *argv,
                ]
            with open(stdin or os.devnull, "rb") as stdin_file:
                try:
                    done = subprocess.run(
                        wrapped,
                        env=dict(env) if env is not None else None,
                        cwd=cwd,
                        stdin=stdin_file,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        timeout=COUNT_TIMEOUT_S,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    raise PerflabError(
                        f"instruction count of {argv[0]!r} timed out after {COUNT_TIMEOUT_S} s"
                    ) from None
            text = log.read_text(errors="replace") if log.is_file() else ""
        if done.returncode != 0:
            raise PerflabError(
                f"instruction count: {argv[0]!r} exited with code {done.returncode} under {self.kind}"
            )
        value = parse_count(self.kind, text)
        if value is None:
            raise PerflabError(f"instruction count: {self.kind} printed no count for {argv[0]!r}")
        return value


def parse_count(kind: str, text: str) -> int | None:
    """The count from perf's CSV (``12345,,instructions:u,…``) or valgrind's ``I refs: 1,234`` line."""
    if kind == "perf":
        for line in text.splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2].startswith("instructions") and fields[0].strip().isdigit():
                return int(fields[0])
        return None
    found = _VALGRIND_REFS.search(text)
    return int(found.group(1).replace(",", "")) if found else None


def find_counter() -> InstructionCounter:
    """perf when it can count instructions here, else valgrind; PerflabError naming what is missing."""
    perf = shutil.which("perf")
    why_not_perf = "perf is not installed"
    if perf is not None:
        try:
            probe = InstructionCounter("perf", perf).count(["true"])
            if probe > 0:
                return InstructionCounter("perf", perf)
            why_not_perf = "perf counted 0 instructions"
        except PerflabError:
            why_not_perf = f"perf stat -e {PERF_EVENT} is not supported here (no hardware counters)"
    valgrind = shutil.which("valgrind")
    if valgrind is not None:
        return InstructionCounter("valgrind", valgrind)
    raise PerflabError(
        f"the instructions metric needs perf with hardware counters or valgrind: {why_not_perf} "
        "and valgrind is not installed (perflab installs nothing; e.g. apt-get install valgrind)"
    )


#: counting runs per command (and variant): a verdict needs 5, a median CI 6; valgrind is ~50× slower
COUNTED_RUNS = 6
METRIC = "instructions"


class CountingObserver:
    """Forwards every progress callback; after each of the first ``COUNTED_RUNS`` successful measured
    runs of a command (per variant) counts its instructions in a separate untimed run of the same argv,
    environment, directory and stdin, stored as the run's ``instructions`` metric. It runs inside the
    block, so a variant's settings (a suite's env, profile) are still in force."""

    def __init__(self, inner: Any, counter: InstructionCounter) -> None:
        self.inner = inner
        self.counter = counter
        self.counted: dict[tuple[int, str], int] = {}

    def phase(self, text: str) -> None:
        self.inner.phase(text)

    def output(self, label: str, text: str) -> None:
        self.inner.output(label, text)

    def block_done(self, session: Any) -> None:
        self.inner.block_done(session)

    def run_done(self, session: Any, index: int, run: Any) -> None:
        command = session.commands[index]
        key = (id(command), run.variant)
        if run.ok and self.counted.get(key, 0) < COUNTED_RUNS:
            place = session.places[index] if getattr(session, "places", None) else None
            env = {**os.environ, **session.options.env, **(place.env if place is not None else {})}
            run.metrics[METRIC] = float(self.counter.count(
                command.argv, env=env, cwd=place.cwd if place is not None else None,
                stdin=session.options.input_path))
            self.counted[key] = self.counted.get(key, 0) + 1
        self.inner.run_done(session, index, run)


def declare_metric(bench: Any, counter: InstructionCounter) -> None:
    """Name the counted metric in every command's result (lower is better) and say how it was counted."""
    from perflab.store.model import MetricSpec

    for result in bench.commands:
        if not any(m.name == METRIC for m in result.metrics):
            unit = "simulated (valgrind)" if counter.kind == "valgrind" else "hardware count (perf)"
            result.metrics.append(MetricSpec(METRIC, "", unit, higher_is_better=False))
        result.notes.append(f"{counter.label}; counted in separate untimed runs after the first "
                            f"{COUNTED_RUNS} timed ones")
