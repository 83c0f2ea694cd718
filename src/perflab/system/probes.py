"""Facts about the machine that decide what tuning can do here: VM/container (from ``perflab.env.detect``),
NUMA, SMT, isolated CPUs, io_uring, BBR, epoll. Read-only: nothing here changes the system."""

from __future__ import annotations

import ctypes
import errno
import os
import select
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CPU_SYS = Path("/sys/devices/system/cpu")
NODE_SYS = Path("/sys/devices/system/node")
IO_URING_SETUP = 425  # the same number on every architecture since 5.1 (unified syscall table)


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


@dataclass
class Probe:
    """One fact: a short value and how it was found out."""

    name: str
    value: str
    detail: str = ""


@dataclass
class Probes:
    items: list[Probe] = field(default_factory=list)

    def get(self, name: str) -> Probe | None:
        return next((p for p in self.items if p.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {p.name: asdict(p) for p in self.items}


def probe_virtualization() -> list[Probe]:
    """VM and container reported separately (a Firecracker guest is a VM, not a container)."""
    from perflab.env.detect import detect_container, detect_vm

    vm, container = detect_vm(), detect_container()
    return [
        Probe(
            "vm",
            f"yes ({vm.kind})" if vm.detected and vm.kind else ("yes" if vm.detected else "no"),
            "; ".join(vm.evidence or vm.counter_evidence),
        ),
        Probe(
            "container",
            f"yes ({container.kind})"
            if container.detected and container.kind
            else ("yes" if container.detected else "no"),
            "; ".join(container.evidence or container.counter_evidence),
        ),
    ]


def proc_sys_read_only() -> bool:
    try:
        return bool(os.statvfs("/proc/sys").f_flag & os.ST_RDONLY)
    except OSError:
        return False


def probe_numa() -> Probe:
    nodes = sorted(p.name for p in NODE_SYS.glob("node[0-9]*")) if NODE_SYS.is_dir() else []
    if not nodes:
        return Probe("numa_nodes", "1", "no /sys/devices/system/node (kernel without NUMA)")
    detail = ", ".join(f"{n}: cpus {_read(NODE_SYS / n / 'cpulist')}" for n in nodes)
    return Probe("numa_nodes", str(len(nodes)), detail)


def probe_smt() -> Probe:
    control, active = _read(CPU_SYS / "smt/control"), _read(CPU_SYS / "smt/active")
    siblings = _read(CPU_SYS / "cpu0/topology/thread_siblings_list")
    value = {"1": "on", "0": "off"}.get(active or "", "unknown")
    return Probe("smt", value, f"smt/control={control}, cpu0 thread siblings: {siblings}")


def probe_isolation() -> list[Probe]:
    cmdline = _read("/proc/cmdline") or ""
    params = {w.split("=", 1)[0]: w.split("=", 1)[1] if "=" in w else "" for w in cmdline.split()}
    isolated = _read(CPU_SYS / "isolated") or ""
    nohz = _read(CPU_SYS / "nohz_full")
    return [
        Probe(
            "isolcpus",
            isolated or "none",
            f"/sys/devices/system/cpu/isolated; cmdline isolcpus={params.get('isolcpus', '(not set)')}",
        ),
        Probe(
            "nohz_full",
            (nohz or "none") if nohz is not None else "none",
            "kernel without CONFIG_NO_HZ_FULL"
            if nohz is None
            else f"cmdline nohz_full={params.get('nohz_full', '(not set)')}",
        ),
    ]


def probe_io_uring() -> Probe:
    """Call io_uring_setup(1, &params) and classify: works / ENOSYS / EPERM by sysctl / seccomp."""
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed
    libc.syscall.restype = ctypes.c_long
    fd = libc.syscall(ctypes.c_long(IO_URING_SETUP), ctypes.c_uint(1), params)
    err = ctypes.get_errno()
    disabled = _read("/proc/sys/kernel/io_uring_disabled")
    seccomp = _seccomp_mode()
    if fd >= 0:
        os.close(fd)
        return Probe("io_uring", "works", f"io_uring_setup succeeded; kernel.io_uring_disabled={disabled}")
    name = errno.errorcode.get(err, str(err))
    if err == errno.ENOSYS:
        if seccomp == 2:
            return Probe(
                "io_uring",
                "blocked by seccomp?",
                "ENOSYS under a seccomp filter (Seccomp: 2); "
                "runtimes such as Docker return ENOSYS for denied calls",
            )
        return Probe("io_uring", "ENOSYS", "kernel built without CONFIG_IO_URING")
    if err == errno.EPERM:
        if disabled not in (None, "0"):
            return Probe("io_uring", "EPERM by sysctl", f"kernel.io_uring_disabled={disabled}")
        if seccomp == 2:
            return Probe(
                "io_uring", "blocked by seccomp", "EPERM with io_uring_disabled=0 under a seccomp filter"
            )
        return Probe("io_uring", "EPERM", "denied for an unknown reason (LSM?)")
    return Probe("io_uring", name, f"io_uring_setup failed: {os.strerror(err)}")


def _seccomp_mode() -> int | None:
    for line in (_read("/proc/self/status") or "").splitlines():
        if line.startswith("Seccomp:"):
            return int(line.split()[1])
    return None


def probe_bbr() -> Probe:
    available = _read("/proc/sys/net/ipv4/tcp_available_congestion_control")
    if available is None:
        return Probe("bbr", "unknown", "no tcp_available_congestion_control")
    current = _read("/proc/sys/net/ipv4/tcp_congestion_control")
    return Probe(
        "bbr",
        "available" if "bbr" in available.split() else "not built",
        f"available: {available}; current: {current}",
    )


def probe_epoll() -> Probe:
    if not hasattr(select, "epoll"):
        return Probe("epoll", "missing", "select.epoll absent")
    try:
        select.epoll().close()
    except OSError as error:
        return Probe("epoll", "fails", f"epoll_create1: {error.strerror}")
    return Probe("epoll", "works", "epoll_create1 succeeded")


def probe_all() -> Probes:
    items = probe_virtualization()
    items.append(
        Probe("proc_sys", "read-only" if proc_sys_read_only() else "writable", "/proc/sys mount flags")
    )
    items.append(Probe("root", "yes" if os.geteuid() == 0 else "no", f"euid {os.geteuid()}"))
    items += [probe_numa(), probe_smt(), *probe_isolation(), probe_io_uring(), probe_bbr(), probe_epoll()]
    return Probes(items)
