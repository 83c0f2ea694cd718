"""VM and container detection, kept separate because they answer different questions.

A VM changes what timings mean (steal time, no cpufreq control, virtual topology); a container changes
what perflab may tune (namespaced /proc/sys, cgroup limits). A Firecracker guest whose root file system
was exported from a Docker image carries ``/.dockerenv`` yet is no container: markers on disk are weak
evidence, namespaces and cgroups are strong evidence, and each result says which evidence it used.

Every helper here reads files only (plus ``systemd-detect-virt`` when installed, with a timeout) and
never raises: unreadable sources are listed under ``unavailable``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Inode numbers the kernel gives the *initial* namespaces (include/linux/proc_ns.h). Being in the
# initial PID or cgroup namespace means no container runtime has isolated this process.
PROC_PID_INIT_INO = 0xEFFFFFFC
PROC_CGROUP_INIT_INO = 0xEFFFFFFB

_CONTAINER_CGROUP_WORDS = ("docker", "containerd", "kubepods", "libpod", "lxc", "podman", "crio", "garden")
_DMI_VM_WORDS = {
    "kvm": "kvm",
    "qemu": "qemu",
    "vmware": "vmware",
    "virtualbox": "oracle",
    "innotek": "oracle",
    "xen": "xen",
    "microsoft corporation": "microsoft",
    "amazon ec2": "amazon",
    "google compute engine": "google",
    "bochs": "bochs",
    "parallels": "parallels",
    "bhyve": "bhyve",
    "openstack": "openstack",
    "cloud hypervisor": "cloud-hypervisor",
}


@dataclass
class Detection:
    """A yes/no answer with the evidence for and against it."""

    detected: bool
    kind: str | None = None
    evidence: list[str] = field(default_factory=list)
    counter_evidence: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_text(path: str | Path, limit: int = 1 << 20) -> str | None:
    """Read a small /proc or /sys file; None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return None


def _ns_inode(kind: str, pid: str = "self") -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/{kind}").st_ino
    except OSError:
        return None


def _systemd_detect_virt(flag: str) -> str | None:
    """Ask systemd-detect-virt (if installed); it reads CPUID, which Python cannot without a module."""
    exe = shutil.which("systemd-detect-virt")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, flag], capture_output=True, text=True, timeout=1.0, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _cpu_has_hypervisor_flag() -> bool | None:
    cpuinfo = read_text("/proc/cpuinfo")
    if cpuinfo is None:
        return None
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return "hypervisor" in line.split(":", 1)[-1].split()
    return False


def _firecracker_evidence() -> list[str]:
    found: list[str] = []
    # Firecracker's ACPI tables carry OEM id "FIRECK" (bytes 10..16 of every table header).
    for table in ("DSDT", "FACP", "APIC"):
        try:
            with open(f"/sys/firmware/acpi/tables/{table}", "rb") as f:
                header = f.read(16)
        except OSError:
            continue
        if header[10:16] == b"FIRECK":
            found.append(f"ACPI {table} OEM id FIRECK (Firecracker)")
            break
    cmdline = read_text("/proc/cmdline") or ""
    if "firecracker" in cmdline.lower():
        found.append("kernel cmdline mentions firecracker")
    return found


def detect_vm() -> Detection:
    """Is this a virtual machine? CPUID hypervisor flag, DMI vendor strings, systemd-detect-virt."""
    result = Detection(detected=False)
    flag = _cpu_has_hypervisor_flag()
    if flag is None:
        result.unavailable.append("/proc/cpuinfo unreadable")
    elif flag:
        result.evidence.append("cpuinfo flag 'hypervisor'")
    dmi_dir = Path("/sys/class/dmi/id")
    if dmi_dir.is_dir():
        for name in ("sys_vendor", "product_name", "board_vendor", "bios_vendor"):
            value = (read_text(dmi_dir / name) or "").strip()
            low = value.lower()
            for word, kind in _DMI_VM_WORDS.items():
                if word in low:
                    result.evidence.append(f"DMI {name} = {value!r}")
                    result.kind = result.kind or kind
                    break
    else:
        result.unavailable.append("/sys/class/dmi absent (no SMBIOS: typical of Firecracker microVMs)")
    firecracker = _firecracker_evidence()
    if firecracker:
        result.evidence.extend(firecracker)
        result.kind = "firecracker"
    virt = _systemd_detect_virt("--vm")
    if virt and virt != "none":
        result.evidence.append(f"systemd-detect-virt --vm: {virt}")
        result.kind = result.kind or virt
    elif virt == "none":
        result.counter_evidence.append("systemd-detect-virt --vm: none")
    hypervisor = (read_text("/sys/hypervisor/type") or "").strip()
    if hypervisor:
        result.evidence.append(f"/sys/hypervisor/type = {hypervisor}")
        result.kind = result.kind or hypervisor
    result.detected = bool(result.evidence)
    if result.detected and result.kind is None:
        result.kind = "unknown"
    return result


def detect_container() -> Detection:
    """Is this process in a container? Namespaces and cgroups decide; marker files only support."""
    result = Detection(detected=False)
    strong: list[str] = []
    pid_ino = _ns_inode("pid")
    if pid_ino is None:
        result.unavailable.append("/proc/self/ns/pid unreadable")
    elif pid_ino != PROC_PID_INIT_INO:
        strong.append(f"PID namespace inode {pid_ino} is not the initial one ({PROC_PID_INIT_INO})")
    else:
        result.counter_evidence.append("in the initial PID namespace")
    cg_ino = _ns_inode("cgroup")
    if cg_ino is not None and cg_ino == PROC_CGROUP_INIT_INO:
        result.counter_evidence.append("in the initial cgroup namespace")
    elif cg_ino is not None:  # docker/podman on cgroup v2 give each container its own cgroup namespace
        strong.append(f"cgroup namespace inode {cg_ino} is not the initial one ({PROC_CGROUP_INIT_INO})")
    cgroup = read_text("/proc/self/cgroup")
    if cgroup is None:
        result.unavailable.append("/proc/self/cgroup unreadable")
    else:
        for line in cgroup.splitlines():
            path = line.split(":", 2)[-1]
            low = path.lower()
            word = next((w for w in _CONTAINER_CGROUP_WORDS if w in low), None)
            if word:
                strong.append(f"cgroup path {path!r} names {word}")
                result.kind = result.kind or ("podman" if word == "libpod" else word)
                break
    env_container = os.environ.get("container")  # noqa: SIM112 (systemd and podman set it lower-case)
    if env_container:
        strong.append(f"environment variable container={env_container}")
        result.kind = result.kind or env_container
    if os.path.exists("/run/.containerenv"):
        strong.append("/run/.containerenv exists (podman)")
        result.kind = result.kind or "podman"
    weak: list[str] = []
    if os.path.exists("/.dockerenv"):
        weak.append("/.dockerenv exists")
    comm1 = (read_text("/proc/1/comm") or "").strip()
    if comm1 and comm1 not in ("systemd", "init", "openrc-init", "runit", "s6-svscan"):
        weak.append(f"PID 1 is {comm1!r}, not a system init")
    if strong:
        result.detected = True
        result.evidence = strong + weak
        if result.kind is None:
            result.kind = "docker" if "/.dockerenv exists" in weak else "unknown"
    else:
        # Markers alone: an image's root file system reused by a VM keeps /.dockerenv.
        result.counter_evidence.extend(f"{w} (weak marker; ignored without namespace or cgroup evidence)"
                                       for w in weak)
    return result



TCG_LABEL = "emulated (TCG): not hardware performance"
#: set by ``perflab vm`` in a guest it runs under TCG; every figure measured there carries the label
GUEST_EMULATION_ENV = "PERFLAB_GUEST_EMULATION"


def emulation_label() -> str | None:
    """The "emulated (TCG): not hardware performance" label when this process runs in a perflab vm
    guest under emulation, else None."""
    return os.environ.get(GUEST_EMULATION_ENV) or None
