"""Per-process tuning of a measured workload: CPU pinning, nice, scheduling policy, NUMA memory policy,
THP opt-out and ASLR off.

Every setting here is applied in the child between fork and exec (``preexec``) and is inherited by
everything that child starts: affinity, nice, the scheduling policy (SCHED_RESET_ON_FORK is not set),
the task mempolicy (kept across fork and execve), PR_SET_THP_DISABLE (documented as inherited and
preserved across execve) and the personality flags (how ``setarch -R`` works). So one ``preexec`` on the
benchmark launcher covers every workload it starts; ``verify`` reads the values back from /proc.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as errno_mod
import os
import platform
import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError

ADDR_NO_RANDOMIZE = 0x0040000
PR_SET_THP_DISABLE = 41
PR_GET_THP_DISABLE = 42
MPOL_DEFAULT = 0
MPOL_BIND = 2
MPOL_INTERLEAVE = 3
# set_mempolicy / get_mempolicy have no glibc wrapper (they live in libnuma), so call them by number.
_SYSCALLS = {
    "x86_64": {"set_mempolicy": 238, "get_mempolicy": 239},
    "aarch64": {"set_mempolicy": 237, "get_mempolicy": 236},
}
_SCHED_NAMES = {
    "fifo": os.SCHED_FIFO,
    "rr": os.SCHED_RR,
    "other": os.SCHED_OTHER,
    "batch": os.SCHED_BATCH,
    "idle": os.SCHED_IDLE,
}
_SCHED_BY_NUMBER = {v: k for k, v in _SCHED_NAMES.items()}
_SYS = Path("/sys/devices/system")


class ProcessTuningError(PerflabError):
    """A per-process setting could not be applied (raised in the child by ``preexec``)."""


def parse_id_list(text: str, what: str = "CPU") -> tuple[int, ...]:
    """Parse the kernel's list syntax ("0-1,3") into sorted unique ids."""
    ids: set[int] = set()
    if not text or not text.strip():
        raise PerflabError(f"empty {what} list")
    for part in text.strip().split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo_s, hi_s = part.split("-", 1)
                lo, hi = int(lo_s), int(hi_s)
                if lo < 0 or hi < lo:
                    raise ValueError
                ids.update(range(lo, hi + 1))
            else:
                value = int(part)
                if value < 0:
                    raise ValueError
                ids.add(value)
        except ValueError:
            raise PerflabError(f"bad {what} list {text!r}: {part!r} is not N or N-M (e.g. 0-1,3)") from None
    return tuple(sorted(ids))


def format_id_list(ids: Sequence[int] | set[int]) -> str:
    """The inverse of ``parse_id_list``: compact ranges, as /proc prints them."""
    values = sorted(set(ids))
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ",".join(out)


def _read_sys_list(path: Path) -> set[int] | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return set(parse_id_list(text)) if text else set()


def online_cpus() -> set[int]:
    return _read_sys_list(_SYS / "cpu" / "online") or set(os.sched_getaffinity(0))


def memory_nodes() -> set[int]:
    """NUMA nodes that have memory (binding to a memoryless node fails with EINVAL)."""
    nodes = _read_sys_list(_SYS / "node" / "has_memory")
    if nodes is None:
        nodes = _read_sys_list(_SYS / "node" / "online")
    return nodes if nodes is not None else {0}


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _syscall_number(name: str) -> int:
    table = _SYSCALLS.get(platform.machine())
    if table is None:
        raise ProcessTuningError(f"{name}: syscall number unknown on {platform.machine()}")
    return table[name]


def _nodemask(nodes: Sequence[int]) -> tuple[ctypes.Array[ctypes.c_ulong], int]:
    bits = ctypes.sizeof(ctypes.c_ulong) * 8
    words = max(nodes) // bits + 1
    mask = (ctypes.c_ulong * words)()
    for node in nodes:
        mask[node // bits] |= 1 << (node % bits)
    return mask, words * bits + 1  # the kernel reads maxnode - 1 bits


def set_mempolicy(mode: int, nodes: Sequence[int]) -> None:
    libc = _libc()
    if nodes:
        mask, maxnode = _nodemask(nodes)
        ret = libc.syscall(
            _syscall_number("set_mempolicy"), mode, ctypes.byref(mask), ctypes.c_ulong(maxnode)
        )
    else:
        ret = libc.syscall(_syscall_number("set_mempolicy"), mode, None, ctypes.c_ulong(0))
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def get_mempolicy() -> tuple[int, set[int]]:
    """The calling thread's policy and nodes (the syscall cannot look at another process)."""
    libc = _libc()
    mode = ctypes.c_int(0)
    mask, maxnode = _nodemask([1023])
    ret = libc.syscall(
        _syscall_number("get_mempolicy"),
        ctypes.byref(mode),
        ctypes.byref(mask),
        ctypes.c_ulong(maxnode),
        None,
        ctypes.c_ulong(0),
    )
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    bits = ctypes.sizeof(ctypes.c_ulong) * 8
    nodes = {w * bits + b for w in range(len(mask)) for b in range(bits) if mask[w] >> b & 1}
    return mode.value, nodes


def _os_reason(error: OSError) -> str:
    if error.errno in (errno_mod.EPERM, errno_mod.EACCES):
        return "permission denied (needs root or CAP_SYS_NICE / matching rlimit)"
    if error.errno == errno_mod.EINVAL:
        return "invalid argument (not allowed here, e.g. outside the cpuset or unsupported)"
    return error.strerror or str(error)


@dataclass(frozen=True)
class ProcessTuning:
    """Settings for one measured process tree. Empty by default (changes nothing)."""

    pin: tuple[int, ...] | None = None
    nice: int | None = None
    sched: tuple[str, int] | None = None  # ("fifo", 10), ("rr", 5), ("other", 0)
    membind: tuple[int, ...] | None = None
    interleave: tuple[int, ...] | None = None
    thp: str | None = None  # only "never"
    no_aslr: bool = False
    _errfd: list[int] = field(default_factory=list, init=False, compare=False, repr=False)  # see popen

    @classmethod
    def from_options(
        cls,
        pin: str | None = None,
        nice: int | str | None = None,
        sched: str | None = None,
        membind: str | None = None,
        interleave: str | None = None,
        thp: str | None = None,
        no_aslr: bool = False,
    ) -> ProcessTuning:
        """Validate command-line style values; PerflabError names the option and the cause."""
        cpus = nodes_bind = nodes_inter = None
        if pin is not None:
            cpus = parse_id_list(pin, "CPU")
            unknown = set(cpus) - online_cpus()
            if unknown:
                raise PerflabError(
                    f"--pin {pin}: CPU {format_id_list(unknown)} is not online "
                    f"(online: {format_id_list(online_cpus())})"
                )
        nice_value: int | None = None
        if nice is not None:
            try:
                nice_value = int(nice)
            except (TypeError, ValueError):
                raise PerflabError(f"--nice {nice!r}: not an integer") from None
            if not -20 <= nice_value <= 19:
                raise PerflabError(f"--nice {nice_value}: must be between -20 and 19")
        sched_value: tuple[str, int] | None = None
        if sched is not None:
            sched_value = _parse_sched(sched)
        if membind is not None and interleave is not None:
            raise PerflabError(
                "--membind and --interleave are mutually exclusive (one mempolicy per process)"
            )
        if membind is not None:
            nodes_bind = _parse_nodes(membind, "--membind")
        if interleave is not None:
            nodes_inter = _parse_nodes(interleave, "--interleave")
        if thp is not None and thp != "never":
            raise PerflabError(
                f"--thp {thp!r}: only 'never' can be set per process (prctl PR_SET_THP_DISABLE)"
            )
        return cls(
            pin=cpus,
            nice=nice_value,
            sched=sched_value,
            membind=nodes_bind,
            interleave=nodes_inter,
            thp=thp,
            no_aslr=bool(no_aslr),
        )

    def is_empty(self) -> bool:
        return (
            self.pin is None
            and self.nice is None
            and self.sched is None
            and self.membind is None
            and self.interleave is None
            and self.thp is None
            and not self.no_aslr
        )

    def describe(self) -> dict[str, str]:
        """The requested settings in option syntax, for the result's environment."""
        out: dict[str, str] = {}
        if self.pin is not None:
            out["pin"] = format_id_list(self.pin)
        if self.nice is not None:
            out["nice"] = str(self.nice)
        if self.sched is not None:
            out["sched"] = f"{self.sched[0]}:{self.sched[1]}"
        if self.membind is not None:
            out["membind"] = format_id_list(self.membind)
        if self.interleave is not None:
            out["interleave"] = format_id_list(self.interleave)
        if self.thp is not None:
            out["thp"] = self.thp
        if self.no_aslr:
            out["no_aslr"] = "true"
        return out

    # -- applying ---------------------------------------------------------------------------------

    def apply_to_self(self) -> None:
        """Apply every setting to the calling process (single-threaded: the child before exec)."""
        if self.pin is not None:
            try:
                os.sched_setaffinity(0, self.pin)
            except OSError as e:
                raise ProcessTuningError(f"pin to CPUs {format_id_list(self.pin)}: {_os_reason(e)}") from None
        if self.membind is not None or self.interleave is not None:
            mode, nodes, name = (
                (MPOL_BIND, self.membind, "membind")
                if self.membind is not None
                else (MPOL_INTERLEAVE, self.interleave, "interleave")
            )
            assert nodes is not None
            try:
                set_mempolicy(mode, nodes)
            except OSError as e:
                raise ProcessTuningError(
                    f"{name} nodes {format_id_list(nodes)}: set_mempolicy failed: {_os_reason(e)}"
                ) from None
        if self.thp == "never":
            libc = _libc()
            if (
                libc.prctl(
                    PR_SET_THP_DISABLE,
                    ctypes.c_ulong(1),
                    ctypes.c_ulong(0),
                    ctypes.c_ulong(0),
                    ctypes.c_ulong(0),
                )
                != 0
            ):
                e = OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
                raise ProcessTuningError(f"thp never: prctl(PR_SET_THP_DISABLE) failed: {_os_reason(e)}")
        if self.no_aslr:
            libc = _libc()
            libc.personality.restype = ctypes.c_int
            current = libc.personality(ctypes.c_ulong(0xFFFFFFFF))
            if current == -1 or libc.personality(ctypes.c_ulong(current | ADDR_NO_RANDOMIZE)) == -1:
                e = OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
                raise ProcessTuningError(f"no-aslr: personality(ADDR_NO_RANDOMIZE) failed: {_os_reason(e)}")
        if self.sched is not None:
            name, prio = self.sched
            try:
                os.sched_setscheduler(0, _SCHED_NAMES[name], os.sched_param(prio))
            except OSError as e:
                raise ProcessTuningError(
                    f"sched {name}:{prio}: sched_setscheduler failed: {_os_reason(e)}"
                ) from None
        if self.nice is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, self.nice)
            except OSError as e:
                raise ProcessTuningError(f"nice {self.nice}: setpriority failed: {_os_reason(e)}") from None

    def preexec(self) -> None:
        """For ``subprocess.Popen(preexec_fn=...)``. On failure the message also goes to the error pipe
        that ``popen`` set up, because subprocess replaces a preexec exception with a generic one."""
        try:
            self.apply_to_self()
        except ProcessTuningError as e:
            for fd in self._errfd:
                with contextlib.suppress(OSError):
                    os.write(fd, e.message.encode()[:4000])
            raise

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """``subprocess.Popen`` with ``preexec`` applied; a setting that fails raises PerflabError with
        the real cause (not subprocess's generic 'Exception occurred in preexec_fn')."""
        if self.is_empty():
            return subprocess.Popen(argv, **kwargs)
        if "preexec_fn" in kwargs:
            raise TypeError("ProcessTuning.popen sets preexec_fn itself")
        r, w = os.pipe2(os.O_CLOEXEC)
        self._errfd.append(w)
        try:
            try:
                return subprocess.Popen(argv, preexec_fn=self.preexec, **kwargs)
            finally:
                self._errfd.remove(w)
                os.close(w)
        except subprocess.SubprocessError as e:
            message = os.read(r, 4096).decode(errors="replace")
            raise ProcessTuningError(f"per-process tuning failed: {message or e}") from None
        finally:
            os.close(r)

    def check(self) -> None:
        """Apply everything in a throw-away child (``sleep``) and read it back, so a setting this machine
        refuses (no permission for SCHED_FIFO, a CPU outside the cpuset) fails before any measurement."""
        if self.is_empty():
            return
        proc = self.popen(
            ["sleep", "5"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            self.ensure_applied(proc.pid)
        finally:
            proc.kill()
            proc.wait()

    # -- reading back -----------------------------------------------------------------------------

    def verify(self, pid: int) -> dict[str, dict[str, Any]]:
        """Read every requested setting back from the live process ``pid``.

        Returns {setting: {"requested", "observed", "applied", "source"}}; ``observed`` is None (and
        ``applied`` False) when the value could not be read, e.g. the process already exited."""
        status = _read_status(pid)
        out: dict[str, dict[str, Any]] = {}

        def put(key: str, requested: str, observed: str | None, applied: bool, source: str) -> None:
            out[key] = {"requested": requested, "observed": observed, "applied": applied, "source": source}

        if self.pin is not None:
            observed = status.get("Cpus_allowed_list")
            with contextlib.suppress(OSError):
                observed = format_id_list(os.sched_getaffinity(pid))
            want = format_id_list(self.pin)
            put(
                "pin",
                want,
                observed,
                observed == want,
                "sched_getaffinity, /proc/PID/status Cpus_allowed_list",
            )
        if self.nice is not None:
            try:
                nice: str | None = str(os.getpriority(os.PRIO_PROCESS, pid))
            except OSError:
                nice = None
            put("nice", str(self.nice), nice, nice == str(self.nice), "getpriority")
        if self.sched is not None:
            try:
                policy = os.sched_getscheduler(pid) & ~0x40000000  # SCHED_RESET_ON_FORK bit
                prio = os.sched_getparam(pid).sched_priority
                observed_s: str | None = f"{_SCHED_BY_NUMBER.get(policy, str(policy))}:{prio}"
            except OSError:
                observed_s = None
            want = f"{self.sched[0]}:{self.sched[1]}"
            put("sched", want, observed_s, observed_s == want, "sched_getscheduler, sched_getparam")
        if self.membind is not None or self.interleave is not None:
            kind = "bind" if self.membind is not None else "interleave"
            nodes = self.membind if self.membind is not None else self.interleave
            assert nodes is not None
            want = f"{kind}:{format_id_list(nodes)}"
            observed_p = _task_mempolicy(pid)
            put(
                "membind" if kind == "bind" else "interleave",
                want,
                observed_p,
                observed_p == want,
                "/proc/PID/numa_maps (task policy)",
            )
        if self.thp is not None:
            thp = status.get("THP_enabled")
            observed_t = None if thp is None else ("never" if thp == "0" else "system default")
            put("thp", self.thp, observed_t, thp == "0", "/proc/PID/status THP_enabled")
        if self.no_aslr:
            try:
                persona: int | None = int(Path(f"/proc/{pid}/personality").read_text().strip(), 16)
            except (OSError, ValueError):
                persona = None
            observed_a = None if persona is None else f"0x{persona:08x}"
            put(
                "no_aslr",
                "ADDR_NO_RANDOMIZE",
                observed_a,
                persona is not None and bool(persona & ADDR_NO_RANDOMIZE),
                "/proc/PID/personality",
            )
        return out

    def ensure_applied(self, pid: int) -> dict[str, dict[str, Any]]:
        """``verify`` and raise ProcessTuningError naming every setting that did not take."""
        result = self.verify(pid)
        failed = {k: v for k, v in result.items() if not v["applied"]}
        if failed:
            raise ProcessTuningError(
                "per-process tuning did not take: "
                + "; ".join(
                    f"{k}: wanted {v['requested']}, observed {v['observed']}" for k, v in failed.items()
                )
            )
        return result


def _parse_sched(text: str) -> tuple[str, int]:
    name, _, prio_s = text.partition(":")
    name = name.strip().lower()
    if name not in _SCHED_NAMES:
        raise PerflabError(
            f"--sched {text!r}: policy must be one of {', '.join(_SCHED_NAMES)} (e.g. fifo:10)"
        )
    policy = _SCHED_NAMES[name]
    lo, hi = os.sched_get_priority_min(policy), os.sched_get_priority_max(policy)
    if not prio_s:
        if lo != hi:
            raise PerflabError(f"--sched {text!r}: {name} needs a priority {lo}-{hi} (e.g. {name}:{lo})")
        return name, lo
    try:
        prio = int(prio_s)
    except ValueError:
        raise PerflabError(f"--sched {text!r}: priority {prio_s!r} is not an integer") from None
    if not lo <= prio <= hi:
        raise PerflabError(f"--sched {text!r}: priority for {name} must be {lo}-{hi}")
    return name, prio


def _parse_nodes(text: str, option: str) -> tuple[int, ...]:
    nodes = parse_id_list(text, "NUMA node")
    known = memory_nodes()
    unknown = set(nodes) - known
    if unknown:
        raise PerflabError(
            f"{option} {text}: NUMA node {format_id_list(unknown)} does not exist or has no "
            f"memory (nodes with memory: {format_id_list(known) or 'none'})"
        )
    return nodes


def _read_status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def _task_mempolicy(pid: int) -> str | None:
    """The task mempolicy as numa_maps prints it ("bind:0", "interleave:0-1", "default").

    numa_maps shows the task policy on every mapping without its own (mbind) policy, so the most
    common value is the task's."""
    try:
        lines = Path(f"/proc/{pid}/numa_maps").read_text().splitlines()
    except OSError:
        return None
    counts = Counter(line.split()[1] for line in lines if len(line.split()) > 1)
    if not counts:
        return None
    policy = counts.most_common(1)[0][0]
    return policy.replace("=", ":") if policy.startswith("prefer") else policy
