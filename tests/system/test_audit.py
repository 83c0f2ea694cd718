"""The audit tells the truth: values, changeability and probes against direct reads of /proc and /sys."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from perflab.env.detect import detect_container, detect_vm
from perflab.system.audit import audit, verify
from perflab.system.knobs import FileKnob, get_knob
from perflab.system.probes import probe_io_uring
from perflab.system.profiles import Profile, load_profile

from .conftest import child_env, perflab_cmd


def _direct(path: Path) -> str:
    raw = path.read_text()
    if "[" in raw:
        return raw[raw.index("[") + 1 : raw.index("]")]
    return " ".join(raw.split())


def test_audit_values_and_reasons_match_the_machine() -> None:
    report = audit(load_profile("p2p-node"))
    rows = {row.knob: row for row in report.rows}
    for name, row in rows.items():
        knob = get_knob(name)
        if isinstance(knob, FileKnob):
            if knob.path.exists():
                assert row.current == _direct(knob.path), name
                writable = bool(knob.path.stat().st_mode & 0o200) and os.geteuid() == 0
                assert row.changeable == writable, (name, row.reason)
            else:
                assert row.current is None and not row.changeable and row.reason
    nmi = rows["kernel.nmi_watchdog"]
    assert not nmi.changeable and "read-only" in nmi.reason
    has_cpufreq = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").exists()
    governor = rows["cpu.governor"]
    assert governor.changeable == (has_cpufreq and os.geteuid() == 0)
    if not has_cpufreq:
        assert "cpufreq" in governor.reason
    assert rows["net.ipv4.tcp_congestion_control"].wanted == "bbr|cubic"


def test_probes_match_the_machine() -> None:
    probes = audit().probes
    vm, container = probes.get("vm"), probes.get("container")
    assert vm is not None and container is not None
    assert vm.value.startswith("yes") == detect_vm().detected
    assert container.value.startswith("yes") == detect_container().detected
    available = Path("/proc/sys/net/ipv4/tcp_available_congestion_control").read_text().split()
    bbr = probes.get("bbr")
    assert bbr is not None and (bbr.value == "available") == ("bbr" in available)
    nodes = list(Path("/sys/devices/system/node").glob("node[0-9]*"))
    numa = probes.get("numa_nodes")
    assert numa is not None and numa.value == str(max(1, len(nodes)))
    isolated = Path("/sys/devices/system/cpu/isolated").read_text().strip() or "none"
    iso = probes.get("isolcpus")
    assert iso is not None and iso.value == isolated


@pytest.mark.root
def test_io_uring_probe_sees_the_sysctl(machine: dict[str, bytes]) -> None:
    knob = get_knob("kernel.io_uring_disabled")
    if knob.read() == "0":
        assert probe_io_uring().value == "works"
    knob.write("2")  # restored by the machine fixture
    probe = probe_io_uring()
    assert probe.value == "EPERM by sysctl" and "io_uring_disabled=2" in probe.detail


def test_verify_reports_drift_per_knob(tmp_path: Path) -> None:
    swappiness = get_knob("vm.swappiness").read()
    somaxconn = get_knob("net.core.somaxconn").read()
    rows = {
        r.knob: r
        for r in verify({"vm.swappiness": swappiness, "net.core.somaxconn": f">={int(somaxconn) + 1}"})
    }
    assert rows["vm.swappiness"].status == "ok"
    assert rows["net.core.somaxconn"].status == "drift" and rows["net.core.somaxconn"].actual == somaxconn

    profile = tmp_path / "p.toml"
    profile.write_text(
        f'[settings]\n"vm.swappiness" = {swappiness}\n"net.core.somaxconn" = ">={int(somaxconn) + 1}"\n'
    )
    run = subprocess.run(
        perflab_cmd("system", "verify", "--profile-file", str(profile)),
        env=child_env(),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1, run.stderr  # drift
    line = next(line for line in run.stdout.splitlines() if "net.core.somaxconn" in line)
    assert f">={int(somaxconn) + 1}" in line and somaxconn in line and "drift" in line


def test_cli_audit_json_is_complete() -> None:
    run = subprocess.run(
        perflab_cmd("system", "audit", "--profile", "benchmark", "--json"),
        env=child_env(),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["profile"] == "benchmark"
    assert {"vm", "container", "io_uring", "bbr", "epoll", "smt", "numa_nodes", "nohz_full"} <= set(
        data["probes"]
    )
    knobs = {row["knob"]: row for row in data["knobs"]}
    assert knobs["vm.swappiness"]["current"] == _direct(Path("/proc/sys/vm/swappiness"))
    assert knobs["kernel.randomize_va_space"]["wanted"] == "2"


def test_cli_malformed_profile_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[settings]\n"vm.swappiness" = [1, "x"\n')
    run = subprocess.run(
        perflab_cmd("system", "apply", "--profile-file", str(bad)),
        env=child_env(),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert run.stderr.startswith(f"perflab: error: {bad}:2: malformed TOML") and run.stderr.count("\n") == 1


def _probe_under_seccomp(errno_value: int) -> str:
    """Install a real seccomp filter in a forked child that makes io_uring_setup fail with ``errno_value``
    (as container runtimes do), run the probe there and return its verdict."""
    import ctypes
    import platform
    import struct

    assert platform.machine() == "x86_64", "the BPF filter below checks the x86_64 syscall number only"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            libc = ctypes.CDLL(None, use_errno=True)
            # seccomp_data.nr == 425 ? RET ERRNO(errno_value) : RET ALLOW
            prog = [
                (0x20, 0, 0, 0),
                (0x15, 0, 1, 425),
                (0x06, 0, 0, 0x00050000 | errno_value),
                (0x06, 0, 0, 0x7FFF0000),
            ]
            filters = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *ins) for ins in prog))

            class SockFprog(ctypes.Structure):
                _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

            fprog = SockFprog(len(prog), ctypes.cast(filters, ctypes.c_void_p))
            assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
            assert libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
            os.write(write_end, probe_io_uring().value.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as stream:
        verdict = stream.read()
    os.waitpid(pid, 0)
    return verdict


def test_io_uring_probe_recognises_a_seccomp_filter() -> None:
    import errno

    if get_knob("kernel.io_uring_disabled").read() != "0":
        pytest.fail("kernel.io_uring_disabled is set: cannot tell seccomp from the sysctl")
    assert _probe_under_seccomp(errno.EPERM) == "blocked by seccomp"
    assert _probe_under_seccomp(errno.ENOSYS) == "blocked by seccomp?"


def test_a_value_the_kernel_does_not_offer_is_not_applicable_not_drift() -> None:
    """Congestion controls not listed in tcp_available_congestion_control (read directly here) cannot be
    set: verify says not-applicable and the audit says the value is unsupported; 'a|b' is refused only when
    the kernel offers neither."""
    cc = "net.ipv4.tcp_congestion_control"
    offered = Path("/proc/sys/net/ipv4/tcp_available_congestion_control").read_text().split()
    missing = [name for name in ("perflabnone1", "perflabnone2") if name not in offered]
    (row,) = verify({cc: "|".join(missing)})
    assert row.status == "not-applicable" and all(m in row.reason for m in missing), row
    (row,) = verify({cc: f"{missing[0]}|{offered[0]}"})
    assert row.status in ("ok", "drift"), row
    rows = {r.knob: r for r in audit(Profile("t", "test", {cc: missing[0]})).rows}
    expected = "value unsupported:" if os.geteuid() == 0 else "needs root"  # root: the value is the obstacle
    assert not rows[cc].changeable and rows[cc].reason.startswith(expected), rows[cc]
