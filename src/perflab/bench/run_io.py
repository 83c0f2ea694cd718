"""Where a run's input and output go, and reading its output back.

Every run and hook of a session gets a ``RunSpec`` from here: perflab's environment plus ``--env`` and the
command's ``Place``, ``--input`` as stdin of timed runs, and output either thrown away, written to
hyperfine's ``--output=FILE``, or captured in a private per-session file when something needs to read it
(``--metric``, ``--show-output``, a hook whose failure should be quoted). Only the captured file's tail
is ever read back.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perflab.bench.executor import NULL, SAME, RunSpec
from perflab.bench.options import BenchOptions
from perflab.errors import OptionError, PerflabError

OUTPUT_TAIL = 1 << 20  # bytes of a run's output read back for metric matching and --show-output


@dataclass(frozen=True)
class Place:
    """Where one command runs: extra environment variables and a working directory (None: perflab's)."""

    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


class RunIO:
    """The input, environment and output of one session's runs; ``open`` before the first run."""

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.env = {**os.environ, **options.env}
        self.input: str | None = None
        if options.input_path is not None:
            path = Path(options.input_path)
            if not path.exists() or path.is_dir() or not os.access(path, os.R_OK):  # /dev/null is fine
                raise OptionError("input_path", options.input_path, "not a readable file")
            self.input = str(path.resolve())
        # timed runs' output is read back only when something needs it
        self.capture = bool(options.metrics) or options.show_output or options.output == "pipe"
        self.truncated = 0  # bytes of the last read output that were skipped (only the tail is read)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def open(self) -> None:
        """Create the private (0700) directory of the captured output (idempotent)."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="perflab-run-")
            os.chmod(self._tmp.name, 0o700)

    def close(self) -> None:
        """Remove the captured output."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def output_path(self) -> str:
        if self._tmp is None:
            raise PerflabError("internal: RunIO used before open()")
        return str(Path(self._tmp.name) / "output")

    def spec(self, argv: Sequence[str], label: str, *, timed: bool, capture: bool,
             place: Place | None = None) -> RunSpec:
        """The RunSpec of a timed run (stdin, --output, --timeout apply) or of a hook (not timed)."""
        if capture:
            out = self.output_path()
        elif timed and self.options.output not in ("null", "pipe"):
            out = self.options.output  # hyperfine's --output=FILE: the run's own output goes there
        else:
            out = NULL
        env = {**self.env, **place.env} if place is not None and place.env else self.env
        return RunSpec(argv=list(argv), env=env, stdin=self.input if timed else None, stdout=out,
                       stderr=NULL if out == NULL else SAME,
                       timeout_s=self.options.timeout_s if timed else None,
                       cwd=place.cwd if place is not None else None, label=label,
                       keep_children=self.options.keep_children or not timed)

    def read_output(self) -> str:
        """The captured output, or its last OUTPUT_TAIL bytes: a command printing a gigabyte goes to a file
        (streamed by the kernel, never held here) and only its tail is read for metrics and --show-output;
        ``truncated`` says how many bytes were skipped."""
        self.truncated = 0
        try:
            with open(self.output_path(), "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                start = max(0, size - OUTPUT_TAIL)
                fh.seek(start)
                data = fh.read(OUTPUT_TAIL)
        except OSError:
            return ""
        self.truncated = start
        return data.decode(errors="replace")
