"""Ways of running one measured process, behind one interface: ``Executor.run(spec) -> Run``.

``LauncherExecutor`` (the default) sends each run to perflab's small C launcher (``launcher.c``), which
starts it (vfork-style from a static launcher, or fork), times with CLOCK_MONOTONIC and reaps with
wait4, so ``Run.peak_rss_bytes`` is the workload's own peak memory. A vforked run's ru_maxrss cannot be
below the launcher's own high-water RSS (~0.7 MB); a run that does not exceed that floor gets
``peak_rss_bytes`` None (counted in ``floored_runs``), never the launcher's number.
``PythonExecutor`` is the fallback when no C compiler exists: same timing
method from Python, but ``peak_rss_bytes`` is None, because a child forked from Python inherits Python's
RSS high-water mark (Linux keeps it across execve) and reporting that would be a lie.

Usage (one run, no statistics)::

    from perflab.bench.executor import RunSpec, open_executor
    with open_executor() as ex:                    # or open_executor(tuning=ProcessTuning(...))
        run = ex.run(RunSpec(["/bin/sleep", "0.01"]), sequence=0)
        print(run.wall_s, run.user_s, run.peak_rss_bytes, ex.memory_note)

``PERFLAB_EXECUTOR=python`` forces the fallback (for tests and for machines where the launcher fails).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from perflab.errors import PerflabError
from perflab.store.model import Run

if TYPE_CHECKING:
    from perflab.system.process import ProcessTuning

NULL = ""  # stdout/stderr to /dev/null
INHERIT = "-"  # stdout/stderr to perflab's own
SAME = "="  # stderr into the same file as stdout


class SpawnError(PerflabError):
    """The command could not be started at all (not found, not executable, bad stdin file)."""


@dataclass
class RunSpec:
    """What to run and how; ``env`` is the complete environment (None: perflab's own)."""

    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    stdin: str | None = None  # a file path; None = /dev/null
    stdout: str = NULL  # NULL, INHERIT or a file path (truncated before the run)
    stderr: str = NULL  # NULL, INHERIT, SAME or a file path
    cwd: str | None = None
    timeout_s: float | None = None
    label: str = field(default="", compare=False)  # for error messages; defaults to the argv
    keep_children: bool = False  # False: kill what the run leaves running (counted in Run.left_running)


def _label(spec: RunSpec) -> str:
    return spec.label or " ".join(spec.argv)


def resolve_program(argv0: str, env: Mapping[str, str] | None) -> str:
    """Find ``argv0`` on the run's PATH (before timing starts, and with a clear error)."""
    if "/" in argv0:
        return argv0
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    found = shutil.which(argv0, path=path)
    if found is None:
        raise SpawnError(f"command not found: {argv0!r} (not in PATH; use --shell for shell built-ins)")
    return found


def _decode_status(status: int) -> tuple[int | None, int | None]:
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status), None
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return None, None


class Executor(ABC):
    """Starts one process per ``run`` call and measures it; use as a context manager."""

    #: why ``peak_rss_bytes`` is None for runs of this executor (None when it is measured)
    memory_note: str | None = None
    name: str = ""
    #: how runs are started (recorded with the result)
    spawn: str = ""

    def __init__(self) -> None:
        self._programs: dict[tuple[str, str | None], str] = {}
        #: runs whose peak RSS did not exceed the launcher's own floor (so it is unknown), and that floor
        self.floored_runs = 0
        self.rss_floor_kb = 0

    def _resolved(self, spec: RunSpec) -> list[str]:
        if not spec.argv:
            raise SpawnError("empty command")
        env = spec.env
        key = (spec.argv[0], (env if env is not None else os.environ).get("PATH"))
        if key not in self._programs:
            self._programs[key] = resolve_program(spec.argv[0], env)
        return [self._programs[key], *spec.argv[1:]]

    @abstractmethod
    def run(self, spec: RunSpec, *, sequence: int = 0, block: int = 0, variant: str = "") -> Run:
        """Run ``spec`` once; raise SpawnError if it cannot start, return the measured Run otherwise."""

    def process_tuning_check(self) -> dict[str, Any]:
        """The per-process tuning as read back from /proc ({} when there is none)."""
        return {}

    def close(self, *, kill: bool = False) -> None:  # noqa: B027 - nothing to release by default
        """Release resources; ``kill`` also kills a run still in progress (after Ctrl-C)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close(kill=exc is not None)


class LauncherExecutor(Executor):
    """Runs go through the C launcher started once (with the process tuning applied to it).

    The launcher ends when the thread that started it ends (PR_SET_PDEATHSIG), so create the executor
    in the thread that lives as long as it is used."""

    name = "launcher"

    def __init__(self, launcher: str, tuning: ProcessTuning | None = None, *, spawn: str = "") -> None:
        super().__init__()
        self.tuning = tuning
        self.spawn = spawn
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        try:
            argv = [launcher, str(req_r), str(resp_w)]
            kwargs: dict[str, Any] = {"pass_fds": (req_r, resp_w), "stdin": subprocess.DEVNULL}
            if tuning is not None and not tuning.is_empty():
                self._proc = tuning.popen(argv, **kwargs)
            else:
                self._proc = subprocess.Popen(argv, **kwargs)
        except BaseException:
            for fd in (req_r, req_w, resp_r, resp_w):
                os.close(fd)
            raise
        os.close(req_r)
        os.close(resp_w)
        self._req: IO[bytes] = os.fdopen(req_w, "wb")
        self._resp: IO[bytes] = os.fdopen(resp_r, "rb")
        self._closed = False
        self._env_cache: tuple[tuple[tuple[str, str], ...], bytes] | None = None

    @property
    def pid(self) -> int:
        return self._proc.pid

    def process_tuning_check(self) -> dict[str, Any]:
        if self.tuning is None or self.tuning.is_empty():
            return {}
        return self.tuning.ensure_applied(self._proc.pid)

    def run(self, spec: RunSpec, *, sequence: int = 0, block: int = 0, variant: str = "") -> Run:
        if self._closed:
            raise PerflabError("internal: run on a closed launcher")
        argv = self._resolved(spec)
        env = spec.env if spec.env is not None else os.environ
        timeout_ns = int(spec.timeout_s * 1e9) if spec.timeout_s else 0
        head = ["K" if spec.keep_children else "R", str(timeout_ns), spec.stdin or "", spec.stdout,
                spec.stderr, spec.cwd or "", str(len(argv)), *argv]
        payload = _encode_fields(head, spec) + self._env_block(env, spec)
        try:
            self._req.write(payload)
            self._req.flush()
            line = self._resp.readline()
        except BrokenPipeError:
            line = b""
        if not line:
            code = self._proc.poll()
            raise PerflabError(f"perflab's run launcher died (exit status {code}) while running "
                               f"{_label(spec)}")
        parts = line.decode().split()
        if parts[0] == "err":
            err, stage = int(parts[1]), parts[2]
            raise SpawnError(self._spawn_message(spec, argv, err, stage))
        wall_ns, ut_us, st_us, rss_kb, status, timed_out = (int(p) for p in parts[1:7])
        floor_kb = int(parts[7]) if len(parts) > 7 else 0
        left = int(parts[8]) if len(parts) > 8 else 0
        peak: int | None = rss_kb * 1024
        if floor_kb != 0 and (floor_kb < 0 or rss_kb <= floor_kb):
            # ru_maxrss = max(launcher's floor, workload's own): at or below the floor, it says nothing
            peak = None
            self.floored_runs += 1
        self.rss_floor_kb = max(self.rss_floor_kb, floor_kb)
        exit_code, sig = _decode_status(status)
        return Run(sequence=sequence, wall_ns=wall_ns, user_s=ut_us / 1e6, sys_s=st_us / 1e6,
                   exit_code=exit_code, signal=sig, timed_out=bool(timed_out),
                   peak_rss_bytes=peak, block=block, variant=variant, left_running=left)

    def _env_block(self, env: Mapping[str, str], spec: RunSpec) -> bytes:
        """The encoded environment part of a request; the same environment is encoded once, not per run."""
        items = tuple(env.items())
        if self._env_cache is None or self._env_cache[0] != items:
            fields = [str(len(items)), *(f"{k}={v}" for k, v in items)]
            self._env_cache = (items, _encode_fields(fields, spec))
        return self._env_cache[1]

    @staticmethod
    def _spawn_message(spec: RunSpec, argv: list[str], err: int, stage: str) -> str:
        reason = os.strerror(err)
        if stage == "exec":
            return f"cannot execute {argv[0]!r} ({_label(spec)}): {reason}"
        if stage == "stdin":
            return f"cannot open the input file {spec.stdin!r} for {_label(spec)}: {reason}"
        if stage in ("stdout", "stderr"):
            target = spec.stdout if stage == "stdout" else spec.stderr
            return f"cannot open the output file {target!r} for {_label(spec)}: {reason}"
        if stage == "chdir":
            return f"cannot change to directory {spec.cwd!r} for {_label(spec)}: {reason}"
        return f"cannot start {_label(spec)}: {stage}: {reason}"

    def close(self, *, kill: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        if kill:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)  # the launcher kills its run's group, then exits
        else:
            with contextlib.suppress(OSError):
                self._req.write(b"Q\0")
                self._req.flush()
        for stream in (self._req, self._resp):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def _encode_fields(fields: list[str], spec: RunSpec) -> bytes:
    """NUL-terminated fields of a launcher request; SpawnError for what cannot be passed to execve."""
    out = []
    for f in fields:
        try:
            b = os.fsencode(f)
        except UnicodeError as error:
            raise SpawnError(f"{_label(spec)}: argument not encodable: {error}") from None
        if b"\0" in b:
            raise SpawnError(f"{_label(spec)}: an argument or environment value contains a NUL byte")
        out.append(b)
    out.append(b"")
    return b"\0".join(out)


def _open_out(target: str) -> IO[bytes] | int | None:
    if target == NULL:
        return subprocess.DEVNULL
    if target == INHERIT:
        return None
    if target == SAME:
        return subprocess.STDOUT
    return open(target, "wb")  # noqa: SIM115 - closed by the caller after the run


class PythonExecutor(Executor):
    """subprocess + wait4 from Python; peak memory is not measured (see the module docstring)."""

    name = "python"

    def __init__(self, reason: str, tuning: ProcessTuning | None = None) -> None:
        super().__init__()
        self.memory_note = f"peak memory not measured: {reason}"
        self.tuning = tuning

    def process_tuning_check(self) -> dict[str, Any]:
        if self.tuning is None or self.tuning.is_empty():
            return {}
        probe = self.tuning.popen(["sleep", "5"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            return self.tuning.ensure_applied(probe.pid)
        finally:
            probe.kill()
            probe.wait()

    def run(self, spec: RunSpec, *, sequence: int = 0, block: int = 0, variant: str = "") -> Run:
        argv = self._resolved(spec)
        files: list[Any] = []
        try:
            try:
                stdin = open(spec.stdin, "rb") if spec.stdin else subprocess.DEVNULL  # noqa: SIM115
            except OSError as error:
                raise SpawnError(f"cannot open the input file {spec.stdin!r} for {_label(spec)}: "
                                 f"{error.strerror}") from None
            files.append(stdin)
            try:
                stdout, stderr = _open_out(spec.stdout), _open_out(spec.stderr)
            except OSError as error:
                raise SpawnError(f"cannot open an output file for {_label(spec)}: {error}") from None
            files += [stdout, stderr]
            kwargs: dict[str, Any] = {"stdin": stdin, "stdout": stdout, "stderr": stderr,
                                      "env": spec.env, "cwd": spec.cwd, "process_group": 0}
            t0 = time.monotonic_ns()
            try:
                if self.tuning is not None and not self.tuning.is_empty():
                    proc = self.tuning.popen(argv, **kwargs)
                else:
                    proc = subprocess.Popen(argv, **kwargs)
            except OSError as error:
                raise SpawnError(f"cannot execute {argv[0]!r} ({_label(spec)}): {error.strerror}") from None
            timed_out = False
            try:
                if spec.timeout_s:
                    timed_out = not _wait_readable(proc.pid, spec.timeout_s)
                    if timed_out:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
            t1 = time.monotonic_ns()
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting
            if not spec.keep_children:  # without the launcher only the run's process group is reachable
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
        finally:
            for f in files:
                if hasattr(f, "close"):
                    f.close()
        exit_code, sig = _decode_status(status)
        return Run(sequence=sequence, wall_ns=t1 - t0, user_s=usage.ru_utime, sys_s=usage.ru_stime,
                   exit_code=exit_code, signal=sig, timed_out=timed_out, peak_rss_bytes=None,
                   block=block, variant=variant)


def _wait_readable(pid: int, timeout_s: float) -> bool:
    """Wait until ``pid`` exits or the timeout passes; True when it exited."""
    fd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([fd], [], [], timeout_s)
        return bool(ready)
    finally:
        os.close(fd)


def open_executor(tuning: ProcessTuning | None = None, *, kind: str | None = None) -> Executor:
    """The best executor available: the C launcher, else the Python fallback (with the reason kept)."""
    kind = kind or os.environ.get("PERFLAB_EXECUTOR") or "auto"
    if kind not in ("auto", "launcher", "python"):
        raise PerflabError(f"PERFLAB_EXECUTOR={kind!r}: use 'launcher' or 'python'")
    if kind == "python":
        return PythonExecutor("the Python executor was requested (PERFLAB_EXECUTOR=python); a child of "
                              "Python starts with Python's RSS high-water mark", tuning)
    from perflab.bench.build import ensure_launcher

    build = ensure_launcher()
    if build.path is None:
        if kind == "launcher":
            raise PerflabError(f"PERFLAB_EXECUTOR=launcher: {build.reason}")
        return PythonExecutor(str(build.reason), tuning)
    try:
        return LauncherExecutor(str(build.path), tuning, spawn=build.describe())
    except OSError as error:  # e.g. the cache directory is on a noexec mount
        if kind == "launcher":
            raise PerflabError(f"cannot start the run launcher {build.path}: {error.strerror}") from None
        return PythonExecutor(f"cannot start the run launcher {build.path}: {error.strerror}", tuning)
