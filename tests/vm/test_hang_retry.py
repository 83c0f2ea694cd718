"""The early-boot watchdog: a guest that never prints its ready mark is killed early and booted again.

``qemu.boot`` is exercised on plain processes standing in for QEMU (the watchdog only reads the console
stream and kills the process group); the retry is exercised with real QEMU and a real kernel whose
command line never reaches init.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from perflab.lab import vm_session
from perflab.vm import boot as vm_boot
from perflab.vm.qemu import boot

MARK = "perflab-mark ready"


def test_a_process_silent_past_the_ready_timeout_is_killed_as_hung() -> None:
    started = time.monotonic()
    outcome = boot(["sh", "-c", "echo booting; sleep 60"], 30.0, ready_mark=MARK, ready_timeout_s=1.0)
    assert outcome.hung_before_ready and outcome.timed_out
    assert time.monotonic() - started < 30  # killed at the ready timeout, not at the whole timeout
    assert [line for _, line in outcome.console] == ["booting"]


def test_a_process_that_prints_the_mark_runs_to_its_end() -> None:
    outcome = boot(["sh", "-c", f"echo '{MARK} -'; sleep 2; echo done"], 30.0, ready_mark=MARK,
                   ready_timeout_s=1.0)
    assert not outcome.hung_before_ready and not outcome.timed_out and outcome.returncode == 0
    assert [line for _, line in outcome.console][-1] == "done"


def test_a_process_that_exits_before_the_mark_is_not_called_hung() -> None:
    outcome = boot(["sh", "-c", "exit 3"], 30.0, ready_mark=MARK, ready_timeout_s=5.0)
    assert not outcome.hung_before_ready and outcome.returncode == 3


@pytest.mark.slow
def test_a_guest_hung_in_early_boot_is_booted_again_and_both_boots_are_noted(
        generic_deb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No /init and a root device that never appears: every boot hangs, so both boots are killed at the
    (shortened) ready timeout, long before the run's own timeout."""
    monkeypatch.setattr(vm_boot, "READY_TIMEOUT_S", 8.0)
    options = vm_session.VmOptions(accel="tcg", timeout_s=300.0,
                                   append="rdinit=/nonexistent root=/dev/vdz rootwait")
    started = time.monotonic()
    result = vm_session.run(str(generic_deb), [sys.executable, "-c", "pass"], options)
    assert time.monotonic() - started < 250
    assert result.status == "timed-out" and "never reached its init" in (result.reason or "")
    hung = [note for note in result.notes if "hung before init" in note]
    assert len(hung) == vm_boot.HANG_RETRIES + 1 and "booted again" in hung[0]
