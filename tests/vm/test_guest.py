"""The guest channel and the health scan on fixed text (no VM needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from perflab.vm import guest, health

DMESG = """[    0.000000] Linux version 6.1.0-57-amd64
[    2.880467] Run /init as init process
[    5.100000] perflab-mark ready -
[    5.200000] perflab-mark start 0
[    5.450000] perflab-mark end 0 0
[    5.500000] perflab-mark start 1
[    5.800000] perflab-mark end 1 2
"""


def test_dmesg_gives_boot_to_init_and_guest_clock_runs(tmp_path: Path) -> None:
    entries = guest.parse_dmesg(DMESG)
    assert guest.boot_to_init_s(entries) == 2.880467
    (tmp_path / "rc.0").write_text("0\n")
    (tmp_path / "rc.1").write_text("2\n")
    (tmp_path / "stdout.0").write_text("hello\n")
    console = [(1_000_000_000, "perflab-mark start 0"), (1_300_000_000, "perflab-mark end 0 0")]
    runs = guest.collect_runs(tmp_path, entries, console)
    assert [r.exit_code for r in runs] == [0, 2]
    assert abs(runs[0].guest_s - 0.25) < 1e-9 and abs(runs[1].guest_s - 0.30) < 1e-9
    assert abs(runs[0].host_s - 0.3) < 1e-9 and runs[1].host_s is None
    assert runs[0].stdout == "hello\n"


def test_job_script_passes_argv_unchanged_through_busybox_sh(tmp_path: Path) -> None:
    """The generated script is run by a real busybox sh: awkward arguments arrive as one argv each."""
    out = tmp_path / "out"
    out.mkdir()
    job = guest.Job(command=["printf", "%s|", "a b", "$HOME", "'q'", "`x`", "; rm -rf /"], runs=2,
                    cwd=str(tmp_path), env={"PATH": "/usr/bin:/bin"})
    script = guest.job_script(job).replace(guest.GUEST_OUT, str(out))
    script = script.replace("> /dev/kmsg", "> /dev/null").replace("> /dev/ttyS0", "> /dev/null")
    script = script.replace("reboot -f", "true").replace("dmesg >", "echo >")
    done = subprocess.run(["busybox", "sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert (out / "stdout.0").read_text() == "a b|$HOME|'q'|`x`|; rm -rf /|"
    assert (out / "rc.1").read_text().strip() == "0"


def test_health_scan_finds_splats_and_ignores_marks() -> None:
    clean = "[ 1.0] PCI: Fatal: No config space access function found\n[ 2.0] perflab-mark end 0 0\n"
    assert health.scan(clean) == []
    for splat in ["WARNING: CPU: 0 PID: 1 at kernel/x.c:1 f+0x1/0x2", "BUG: unable to handle page fault",
                  "Oops: 0000 [#1] PREEMPT SMP", "BUG: KASAN: use-after-free in f",
                  "Kernel panic - not syncing: VFS",
                  "WARNING: possible circular locking dependency detected"]:
        lines = health.scan(clean + f"[ 3.0] {splat}\n[ 3.1] more\n")
        assert lines and splat in lines[0]


def test_the_guest_clocksource_is_the_last_one_the_kernel_switched_to() -> None:
    from perflab.vm import guest

    log = ("[    0.28] clocksource: Switched to clocksource tsc-early\n"
           "[    1.47] tsc: Marking TSC unstable due to clocksource watchdog\n"
           "[    1.56] clocksource: Switched to clocksource refined-jiffies\n")
    assert guest.clocksource(guest.parse_dmesg(log)) == "refined-jiffies"
    assert guest.clocksource(guest.parse_dmesg("[    0.1] nothing\n")) is None
