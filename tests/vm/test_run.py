"""`perflab vm run` / `vm stress` with real QEMU (TCG) and a real Debian kernel.

What must always hold is asserted (output, exit codes, statuses, labels); never a timing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from perflab.store.db import Store

pytestmark = pytest.mark.slow
PERFLAB = [sys.executable, "-m", "perflab"]
TCG = "emulated (TCG): not hardware performance"


def vm(*args: str, timeout: float = 1000) -> subprocess.CompletedProcess[str]:
    """Generous timeouts: TCG on a loaded 2-core host is slow, and these tests assert outcomes, not time."""
    return subprocess.run([*PERFLAB, "vm", *args], capture_output=True, text=True, timeout=timeout)


def test_uname_and_a_python_one_liner_from_the_host_filesystem(generic_deb: Path, tmp_path: Path) -> None:
    release = generic_deb.name.split("_", 1)[0].removeprefix("linux-image-")
    script = "import os, platform, sys; print(platform.release(), os.getcwd(), sys.executable)"
    done = vm("run", "--kernel", str(generic_deb), "--timeout", "900", "--accel", "auto", "--json", "--",
              "sh", "-c", f'uname -r && {sys.executable} -c "{script}" && touch /usr/perflab-guest-write')
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok"
    # --accel auto probes KVM with a tiny guest and says why it chose what it chose
    assert "/dev/kvm" in result["accel_reason"] or "KVM probe" in result["accel_reason"]
    assert (result["accel"], result["label"]) in (("tcg", TCG), ("kvm", None))
    assert result["machine"] == "microvm" and "PVH" in " ".join(result["notes"])
    lines = result["runs"][0]["stdout"].splitlines()
    assert lines[0] == release  # the guest's kernel, not the host's
    assert lines[1] == f"{release} {Path.cwd()} {sys.executable}"
    assert result["boot_to_init_s"] > 0 and result["runs"][0]["guest_s"] > 0
    # tsc=reliable keeps the guest on the TSC: on a busy host the clocksource watchdog used to switch
    # 2 boots in 5 to refined-jiffies (4 ms ticks), under every guest-clock figure
    assert result["clocksource"] in ("tsc", "tsc-early"), result["clocksource"]
    assert not Path("/usr/perflab-guest-write").exists()  # the guest's writes stay in its overlay
    assert result["accel"] == "kvm" or TCG in done.stderr
    _check_stored_run(result, tmp_path)


def _check_stored_run(result: dict, tmp_path: Path) -> None:
    """The run is in the store (PERFLAB_DB: this test's private file) with what `results`, `export` and
    `report` need: command, kernel, accelerator and why, exit code, both clocks, the health scan."""
    assert f"saved as #{result['id']}" not in json.dumps(result)  # the id is data, not a message
    with Store.open() as store:
        stored = store.get(result["id"])
    assert stored.kind == "vm-run" and stored.status == "complete"
    s = stored.settings
    assert (s["kernel"], s["release"], s["accel"]) == (result["kernel"], result["release"], result["accel"])
    assert s["accel_reason"] == result["accel_reason"] and s["exit_code"] == 0
    assert s["health_scan"] == "clean" and s["health"] == []
    (cell,) = stored.commands
    assert cell.argv[:2] == ["sh", "-c"] and cell.parameters["kernel"] == result["kernel"]
    (run,) = cell.runs
    assert run.exit_code == 0 and run.wall_s == pytest.approx(result["runs"][0]["guest_s"], abs=1e-6)
    assert run.metrics["host_s"] == pytest.approx(result["runs"][0]["host_s"])
    assert run.metrics["boot_to_init_s"] == pytest.approx(result["boot_to_init_s"])
    listed = json.loads(subprocess.run([*PERFLAB, "results", "--json"], capture_output=True, text=True,
                                       check=True).stdout)
    assert [(r["id"], r["kind"]) for r in listed] == [(result["id"], "vm-run")]
    markdown = subprocess.run([*PERFLAB, "export", str(result["id"]), "--format", "markdown"],
                              capture_output=True, text=True, check=True).stdout
    assert "no CI" in markdown  # one boot: one sample, and the table says there is no interval
    page = tmp_path / "report.html"
    subprocess.run([*PERFLAB, "report", "-o", str(page)], capture_output=True, text=True, check=True)
    html = page.read_text()
    assert "vm-run" in html
    if result["accel"] == "tcg":
        assert TCG in markdown and TCG in html and stored.analysis["label"] == TCG


def test_a_failing_command_returns_its_exit_code_and_stderr(generic_deb: Path) -> None:
    done = vm("run", "--kernel", str(generic_deb), "--timeout", "900", "--accel", "tcg", "--",
              "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7")
    assert done.returncode == 7
    assert done.stdout == "to-stdout\n"
    assert "to-stderr" in done.stderr and "command-failed" in done.stderr
    with Store.open() as store:
        (listing,) = store.list()
        stored = store.get(listing.id)
    assert stored.kind == "vm-run" and stored.status == "failed" and "exit code 7" in stored.message
    assert stored.settings["exit_code"] == 7 and stored.commands[0].runs[0].exit_code == 7


def test_a_hung_guest_is_killed_by_the_watchdog(generic_deb: Path) -> None:
    """No /init and a root device that never appears: the kernel waits forever (rootwait)."""
    started = time.monotonic()
    done = vm("run", "--kernel", str(generic_deb), "--accel", "tcg", "--timeout", "10",
              "--append", "rdinit=/nonexistent root=/dev/vdz rootwait", "--", "true")
    assert done.returncode == 124, done.stderr
    assert "timed-out" in done.stderr and "watchdog" in done.stderr
    assert time.monotonic() - started < 200  # perflab itself did not hang


def test_a_planted_warning_in_the_kernel_log_fails_the_run(generic_deb: Path) -> None:
    done = vm("run", "--kernel", str(generic_deb), "--timeout", "900", "--accel", "tcg", "--",
              "sh", "-c", "echo 'WARNING: planted by perflab test' > /dev/kmsg")
    assert done.returncode == 3, done.stderr
    assert "kernel-error" in done.stderr and "WARNING: planted by perflab test" in done.stderr
    with Store.open() as store:
        (listing,) = store.list()
        stored = store.get(listing.id)
    assert stored.status == "failed" and stored.settings["boot_status"] == "kernel-error"
    assert any("WARNING: planted by perflab test" in line for line in stored.settings["health"])
    assert any("kernel health scan" in w for w in stored.analysis["warnings"])


def test_stress_loads_and_unloads_a_module_and_reports_the_first_failure(generic_deb: Path) -> None:
    cycle = "modprobe algif_hash && rmmod algif_hash af_alg"
    done = vm("stress", "--kernel", str(generic_deb), "--timeout", "900", "--accel", "tcg",
              "--repeat", "20", "--",
              "sh", "-c", cycle)
    assert done.returncode == 0, done.stderr
    assert "20/20 runs passed" in done.stderr
    failing = vm("stress", "--kernel", str(generic_deb), "--timeout", "900", "--accel", "tcg",
                 "--repeat", "20", "--",
                 "sh", "-c", "test ! -e /tmp/seen-twice || exit 5; [ -e /tmp/seen ] && touch /tmp/seen-twice;"
                 " touch /tmp/seen")
    assert failing.returncode == 5, failing.stderr
    assert "first failure at run 2 of 20" in failing.stderr


def test_bad_kernel_is_one_clear_line(tmp_path: Path) -> None:
    done = vm("run", "--kernel", str(tmp_path / "nope"), "--", "true")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "not a kernel file" in done.stderr


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _qemus_with(marker: str) -> list[int]:
    """QEMU itself, exec'd: a child forked by perflab but not yet exec'd has perflab's command line."""
    found = []
    for pid in _processes_with(marker):
        try:
            argv0 = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if b"qemu-system" in argv0:
            found.append(pid)
    return found


def test_ctrl_c_kills_the_guest_and_exits_130(generic_deb: Path) -> None:
    marker = f"perflab_test_marker={uuid.uuid4().hex}"
    proc = subprocess.Popen([*PERFLAB, "vm", "run", "--kernel", str(generic_deb), "--accel", "tcg",
                             "--append", marker, "--", "sleep", "600"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _qemus_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _qemus_with(marker), "QEMU never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert _processes_with(marker) == []  # no QEMU left behind
