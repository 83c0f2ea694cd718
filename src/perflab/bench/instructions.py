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
