"""Per-process tuning on real child processes, checked through the child's own /proc entries.

Nothing here changes system-wide state: every setting lives in a child that the test kills.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.system.process import (
    ADDR_NO_RANDOMIZE,
    ProcessTuning,
    ProcessTuningError,
    format_id_list,
    memory_nodes,
    online_cpus,
    parse_id_list,
)

CPUS = sorted(online_cpus())
PIN = str(CPUS[-1])
NODE = str(sorted(memory_nodes())[0])


def status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def numa_policy(pid: int) -> str:
    """The policy shown on the [stack] mapping: the task policy (no mbind there)."""
    for line in Path(f"/proc/{pid}/numa_maps").read_text().splitlines():
        if "stack" in line:
            return line.split()[1]
    raise AssertionError("no stack line in numa_maps")


def wait_for_child(pid: int, timeout: float = 5.0) -> int:
    """The first child of ``pid`` once it has exec'd (comm changed to sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for kid in kids:
            try:
                if Path(f"/proc/{kid}/comm").read_text().strip() == "sleep":
                    return int(kid)
            except OSError:
                continue
        time.sleep(0.01)
    raise AssertionError(f"no sleep grandchild under {pid}")


@contextmanager
def spawned(tuning: ProcessTuning, argv: list[str], **kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = tuning.popen(argv, stdin=subprocess.DEVNULL, **kwargs)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_parse_id_list_round_trip() -> None:
    assert parse_id_list("0-1,3") == (0, 1, 3)
    assert parse_id_list(" 3,1,1 ") == (1, 3)
    assert format_id_list({0, 1, 3, 5, 6, 7}) == "0-1,3,5-7"
    for bad in ["", "a", "1-", "3-1", "-2", "1,,2"]:
        with pytest.raises(PerflabError):
            parse_id_list(bad)


def test_from_options_validates() -> None:
    with pytest.raises(PerflabError, match="not online"):
        ProcessTuning.from_options(pin=str(max(CPUS) + 64))
    with pytest.raises(PerflabError, match="no memory"):
        ProcessTuning.from_options(membind=str(max(memory_nodes()) + 7))
    with pytest.raises(PerflabError, match="mutually exclusive"):
        ProcessTuning.from_options(membind=NODE, interleave=NODE)
    with pytest.raises(PerflabError, match="policy must be one of"):
        ProcessTuning.from_options(sched="deadline:1")
    with pytest.raises(PerflabError, match="1-99"):
        ProcessTuning.from_options(sched="fifo:100")
    with pytest.raises(PerflabError, match="needs a priority"):
        ProcessTuning.from_options(sched="rr")
    with pytest.raises(PerflabError, match="between -20 and 19"):
        ProcessTuning.from_options(nice=40)
    with pytest.raises(PerflabError, match="only 'never'"):
        ProcessTuning.from_options(thp="always")
    assert ProcessTuning.from_options().is_empty()
    assert not ProcessTuning.from_options(no_aslr=True).is_empty()
    t = ProcessTuning.from_options(pin="0", sched="fifo:7", interleave=NODE)
    assert t.describe() == {"pin": "0", "sched": "fifo:7", "interleave": NODE}


def test_every_setting_reaches_child_and_grandchild() -> None:
    """One preexec on a shell launcher: the shell and the sleep it forks+execs both carry every setting."""
    tuning = ProcessTuning.from_options(pin=PIN, nice=7, sched="rr:3", membind=NODE, thp="never",
                                        no_aslr=True)
    with spawned(tuning, ["sh", "-c", "sleep 30 & wait"]) as proc:
        grandchild = wait_for_child(proc.pid)
        for pid in (proc.pid, grandchild):
            st = status(pid)
            assert st["Cpus_allowed_list"] == PIN
            assert st["THP_enabled"] == "0"
            assert os.getpriority(os.PRIO_PROCESS, pid) == 7
            assert os.sched_getscheduler(pid) == os.SCHED_RR
            assert os.sched_getparam(pid).sched_priority == 3
            assert int(Path(f"/proc/{pid}/personality").read_text(), 16) & ADDR_NO_RANDOMIZE
            assert numa_policy(pid) == f"bind:{NODE}"
            report = tuning.verify(pid)
            assert set(report) == {"pin", "nice", "sched", "membind", "thp", "no_aslr"}
            assert all(v["applied"] for v in report.values()), report
        # the parent (this test process) is untouched
        assert os.sched_getscheduler(0) == os.SCHED_OTHER
        assert not int(Path("/proc/self/personality").read_text(), 16) & ADDR_NO_RANDOMIZE


def test_fifo_and_interleave_inherited() -> None:
    tuning = ProcessTuning.from_options(sched="fifo:5", interleave=NODE)
    with spawned(tuning, ["sh", "-c", "sleep 30 & wait"]) as proc:
        grandchild = wait_for_child(proc.pid)
        assert os.sched_getscheduler(grandchild) == os.SCHED_FIFO
        assert numa_policy(grandchild) == f"interleave:{NODE}"
        assert tuning.ensure_applied(grandchild)["interleave"]["observed"] == f"interleave:{NODE}"


def test_verify_reports_settings_not_in_force() -> None:
    """A plain child (no tuning) must be reported as not applied, with what was observed instead."""
    wanted = ProcessTuning.from_options(nice=11, thp="never", no_aslr=True, membind=NODE)
    with spawned(ProcessTuning(), ["sleep", "30"]) as proc:
        report = wanted.verify(proc.pid)
        assert report["nice"] == {"requested": "11", "observed": str(os.getpriority(os.PRIO_PROCESS, 0)),
                                  "applied": False, "source": "getpriority"}
        assert not report["no_aslr"]["applied"]
        assert report["membind"]["observed"] == "default"
        with pytest.raises(ProcessTuningError, match="nice: wanted 11"):
            wanted.ensure_applied(proc.pid)
    proc.wait()
    gone = wanted.verify(proc.pid)  # reaped: nothing can be read
    assert all(v["observed"] is None and not v["applied"] for v in gone.values())


def test_no_aslr_really_fixes_the_layout() -> None:
    """Effect, not just the flag: two runs under no_aslr map the stack at the same address."""
    def stack(tuning: ProcessTuning) -> str:
        proc = tuning.popen(["cat", "/proc/self/maps"], stdout=subprocess.PIPE)
        out, _ = proc.communicate(timeout=10)
        return next(line.split()[0] for line in out.decode().splitlines() if "[stack]" in line)

    fixed = ProcessTuning.from_options(no_aslr=True)
    assert stack(fixed) == stack(fixed)
    if Path("/proc/sys/kernel/randomize_va_space").read_text().strip() != "0":
        randomized = {stack(ProcessTuning()) for _ in range(3)}
        assert len(randomized) > 1


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to an unprivileged user")
def test_refused_setting_is_a_clear_error() -> None:
    """Popen's user= drops to nobody before preexec runs, so SCHED_FIFO and a negative nice are refused
    by the kernel; the error must name the setting and the cause, not subprocess's generic message."""
    with pytest.raises(ProcessTuningError, match=r"sched fifo:10: .*permission denied"):
        ProcessTuning.from_options(sched="fifo:10").popen(["true"], user=65534)
    with pytest.raises(ProcessTuningError, match=r"nice -5: .*permission denied"):
        ProcessTuning.from_options(nice=-5).popen(["true"], user=65534)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to an unprivileged user")
def test_check_applies_in_a_throwaway_child() -> None:
    ProcessTuning.from_options(pin=PIN, thp="never").check()
    code = ("from perflab.system.process import ProcessTuning as T\n"
            "try:\n    T.from_options(sched='fifo:10').check()\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                          "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert re.search(r"ProcessTuningError .*sched fifo:10.*permission denied", out.stdout), out
