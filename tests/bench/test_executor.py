"""The executors with real processes: timing, rusage, the workload's own peak memory, timeouts."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from perflab.bench.build import ensure_launcher
from perflab.bench.executor import (
    SAME,
    LauncherExecutor,
    PythonExecutor,
    RunSpec,
    SpawnError,
    open_executor,
)

MIB = 1 << 20
ALLOC = 50_000_000


@pytest.fixture(scope="module")
def launcher() -> LauncherExecutor:
    build = ensure_launcher()
    assert build.path is not None, build.reason  # cc is installed on this machine and in CI
    ex = LauncherExecutor(str(build.path))
    yield ex
    ex.close()


def test_true_reports_the_workloads_own_peak_memory_under_2_mib(launcher: LauncherExecutor) -> None:
    runs = [launcher.run(RunSpec(["true"])) for _ in range(5)]
    assert all(r.ok for r in runs)
    assert all(r.peak_rss_bytes is not None and 0 < r.peak_rss_bytes < 2 * MIB for r in runs), runs
    # Python itself is far bigger: a child forked from it would report this much (what we avoid)
    assert _own_rss() > 5 * MIB


def _own_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_dd_with_a_50_mb_buffer_reports_50_mb_within_10_percent(launcher: LauncherExecutor) -> None:
    """dd allocates and fills one bs-sized buffer; its own footprint is ~1 MB."""
    run = launcher.run(RunSpec(["dd", "if=/dev/zero", "of=/dev/null", f"bs={ALLOC}", "count=1"]))
    assert run.ok
    assert run.peak_rss_bytes is not None
    assert abs(run.peak_rss_bytes - ALLOC) <= 0.10 * ALLOC, run.peak_rss_bytes


def test_python_child_allocating_50_mb(launcher: LauncherExecutor) -> None:
    """A Python child's peak is its interpreter (~9 MB) plus the 50 MB it allocates: the increment over
    an idle interpreter is 50 MB ± 10 %, and the absolute peak is at least 50 MB but not the ~parent's."""
    alloc = [sys.executable, "-S", "-c", f"b = b'x' * {ALLOC}"]
    idle = [sys.executable, "-S", "-c", "pass"]
    peaks_alloc, peaks_idle = [], []
    for _ in range(3):
        peaks_alloc.append(launcher.run(RunSpec(alloc)).peak_rss_bytes)
        peaks_idle.append(launcher.run(RunSpec(idle)).peak_rss_bytes)
    a, i = min(peaks_alloc), min(peaks_idle)
    assert a is not None and i is not None
    assert abs((a - i) - ALLOC) <= 0.10 * ALLOC, (a, i)
    assert ALLOC <= a <= ALLOC + 20 * MIB


def test_user_and_sys_time_are_the_childs(launcher: LauncherExecutor) -> None:
    busy = launcher.run(RunSpec([sys.executable, "-S", "-c", "x = 0\nfor i in range(3_000_000): x += i"]))
    idle = launcher.run(RunSpec(["sleep", "0.2"]))
    assert busy.user_s > 0.05
    assert idle.wall_s >= 0.2 and idle.user_s + idle.sys_s < 0.05  # sleeping is not CPU time
    assert busy.user_s <= busy.wall_s * 1.05  # one thread cannot use more CPU than wall time


def test_exit_code_and_signal_are_recorded(launcher: LauncherExecutor) -> None:
    failed = launcher.run(RunSpec(["sh", "-c", "exit 7"]))
    assert (failed.exit_code, failed.signal, failed.ok) == (7, None, False)
    killed = launcher.run(RunSpec(["sh", "-c", "kill -TERM $$"]))
    assert (killed.exit_code, killed.signal) == (None, 15)


def test_timeout_kills_the_whole_process_group_quickly(launcher: LauncherExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    start = time.monotonic()
    run = launcher.run(RunSpec(["sh", "-c", f"sleep 30 & echo $! > {pidfile}; sleep 30"], timeout_s=0.3))
    elapsed = time.monotonic() - start
    assert run.timed_out and run.signal == 9 and run.exit_code is None
    assert 0.3 <= run.wall_s < 1.5 and elapsed < 2.0
    background = int(pidfile.read_text())
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and _alive(background):
        time.sleep(0.02)
    assert not _alive(background), "the run's background child survived the timeout"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_stdin_stdout_cwd_and_env_reach_the_child(launcher: LauncherExecutor, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("hello from stdin\n")
    out = tmp_path / "out.txt"
    env = dict(os.environ, PERFLAB_TEST_VALUE="42")
    run = launcher.run(RunSpec(["sh", "-c", "cat; echo $PERFLAB_TEST_VALUE; pwd; echo err >&2"],
                               env=env, stdin=str(tmp_path / "in.txt"), stdout=str(out), stderr=SAME,
                               cwd=str(tmp_path)))
    assert run.ok
    assert out.read_text().splitlines() == ["hello from stdin", "42", str(tmp_path), "err"]
    assert oct(out.stat().st_mode & 0o777) == oct(0o600)


def test_spawn_errors_are_clear(launcher: LauncherExecutor, tmp_path: Path) -> None:
    with pytest.raises(SpawnError, match="command not found: 'no-such-command-xyz'"):
        launcher.run(RunSpec(["no-such-command-xyz"]))
    with pytest.raises(SpawnError, match="input file"):
        launcher.run(RunSpec(["true"], stdin=str(tmp_path / "missing")))
    script = tmp_path / "noexec.sh"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(SpawnError, match="Permission denied"):
        launcher.run(RunSpec([str(script)]))
    assert launcher.run(RunSpec(["true"])).ok  # the launcher survives all of that


def test_python_fallback_reports_no_peak_memory_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_EXECUTOR", "python")
    with open_executor() as ex:
        assert isinstance(ex, PythonExecutor)
        run = ex.run(RunSpec(["sleep", "0.05"]))
        slow = ex.run(RunSpec(["sleep", "30"], timeout_s=0.2))
    assert run.ok and run.wall_s >= 0.05 and run.peak_rss_bytes is None
    assert ex.memory_note and "Python" in ex.memory_note
    assert slow.timed_out and slow.wall_s < 1.5


def test_no_compiler_falls_back_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty PATH and cache stand in for a machine without cc (the real one has it)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    with open_executor() as ex:
        assert isinstance(ex, PythonExecutor)
        assert "no C compiler" in str(ex.memory_note)
        assert ex.run(RunSpec([shutil.which("true", path="/usr/bin:/bin") or "/bin/true"])).ok


def test_launcher_is_cached_privately(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = ensure_launcher()
    assert first.path is not None and first.path.parent == tmp_path / "perflab"
    assert oct(first.path.parent.stat().st_mode & 0o777) == oct(0o700)
    mtime = first.path.stat().st_mtime_ns
    assert ensure_launcher().path == first.path and first.path.stat().st_mtime_ns == mtime
    names = sorted(p.name for p in first.path.parent.iterdir())  # no temp leftovers
    assert names == [first.path.name, first.path.name + ".sha256"]


def test_a_launcher_that_cannot_start_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A cache on a noexec mount, imitated by a launcher file without execute permission."""
    from perflab.bench import build

    fake = tmp_path / "launcher"
    fake.write_bytes(b"")
    fake.chmod(0o600)
    monkeypatch.setattr(build, "ensure_launcher", lambda: build.LauncherBuild(fake))
    with open_executor() as ex:
        assert isinstance(ex, PythonExecutor) and "cannot start the run launcher" in str(ex.memory_note)
        assert ex.run(RunSpec(["true"])).ok
