"""The system knobs perflab knows, one small class per kind of file.

Tuning writes only to knobs in ``KNOBS``: a profile or ``--knob`` naming anything else is refused.
Each knob reads a normalised value (a bracketed choice gives the selected word, a list is
whitespace-normalised), writes a value and raises ``KnobWriteError`` when the kernel refuses it, and
can ``save()`` an opaque token that ``restore()`` turns back into the exact original state (the
dirty ratio/bytes pairs need that: writing one member zeroes the other).
"""

from __future__ import annotations

import errno
import glob
import os
from dataclasses import dataclass
from pathlib import Path

from perflab.errors import PerflabError

PROC_SYS = Path("/proc/sys")
CPU_SYS = Path("/sys/devices/system/cpu")
THP_SYS = Path("/sys/kernel/mm/transparent_hugepage")


class KnobWriteError(PerflabError):
    """The kernel refused a write. ``rejected`` is True when it refused the *value* (EINVAL/ENOENT…),
    False when the write itself was impossible (EPERM, EROFS, EIO…)."""

    def __init__(self, message: str, *, rejected: bool) -> None:
        super().__init__(message)
        self.rejected = rejected


_REJECTING_ERRNOS = {errno.EINVAL, errno.ENOENT, errno.ERANGE, errno.EOPNOTSUPP, errno.EBUSY}


def _write_file(path: Path, value: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as error:
        raise KnobWriteError(f"{path}: {error.strerror}", rejected=False) from error
    try:
        os.write(fd, value.encode())
    except OSError as error:
        rejected = error.errno in _REJECTING_ERRNOS
        raise KnobWriteError(
            f"{path}: kernel rejected {value!r}: {error.strerror}", rejected=rejected
        ) from error
    finally:
        os.close(fd)


def _read_file(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise PerflabError(f"{path}: cannot read: {error.strerror}") from error


def _words(path: Path) -> list[str] | None:
    """A file listing options (available governors, congestion controls, ``a [b] c``); None if unreadable."""
    try:
        return path.read_text().split()
    except OSError:
        return None


def _writability(path: Path) -> tuple[bool, str]:
    """Whether ``path`` can be written by this process, and if not, why (most specific reason first)."""
    if not path.exists():
        return False, f"{path} does not exist"
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return False, f"{path} is on a read-only mount (container?)"
    except OSError:
        pass
    mode = path.stat().st_mode
    if not mode & 0o222:
        return False, f"{path} is read-only (mode {mode & 0o777:04o})"
    if not os.access(path, os.W_OK):
        return False, "needs root" if os.geteuid() != 0 else f"{path} is not writable"
    return True, ""


class Knob:
    """One tunable. ``kind`` is the value semantics: ``int``, ``list`` (of ints), ``choice`` or ``word``."""

    name: str
    description: str
    kind: str = "word"
    needs_root: bool = True

    def paths(self) -> list[Path]:
        raise NotImplementedError

    def read(self) -> str:
        raise NotImplementedError

    def write(self, value: str) -> None:
        raise NotImplementedError

    def available(self) -> tuple[bool, str]:
        """Whether the knob exists and can be written here; the reason when not."""
        paths = self.paths()
        if not paths:
            return False, self.missing_reason()
        for path in paths:
            ok, why = _writability(path)
            if not ok:
                if not path.exists():
                    return False, self.missing_reason()
                return False, why
        return True, ""

    def missing_reason(self) -> str:
        return f"{self.paths()[0] if self.paths() else self.name} does not exist on this kernel"

    def options(self) -> list[str] | None:
        """The values the kernel offers, when it lists them (None when it does not)."""
        return None

    def check_value(self, value: str) -> str | None:
        """Why this kernel cannot take ``value`` (known without writing), or None."""
        opts = self.options()
        if opts is not None and value not in opts:
            return f"{value!r} not offered by this kernel (offers: {' '.join(opts)})"
        return None

    def validate(self, value: str) -> str | None:
        """Static check of a value's form, used when loading profiles: the reason it is malformed or None."""
        if self.kind == "int" and not _is_int(value):
            return f"{self.name} takes an integer, not {value!r}"
        if self.kind == "list" and not all(_is_int(v) for v in value.split()):
            return f"{self.name} takes a list of integers, not {value!r}"
        if not value.strip():
            return f"{self.name}: empty value"
        return None

    def normalize(self, value: str) -> str:
        """Canonical text of a value for comparisons (whitespace-normalised, brackets removed)."""
        words = value.split()
        if self.kind == "choice":
            for word in words:
                if word.startswith("[") and word.endswith("]"):
                    return word[1:-1]
        return " ".join(words)

    def save(self) -> str:
        """Opaque token that ``restore`` turns back into the current state."""
        return self.read()

    def restore(self, saved: str) -> None:
        self.write(saved)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


class FileKnob(Knob):
    """A single file: a sysctl under /proc/sys or a sysfs attribute."""

    def __init__(
        self, name: str, path: Path, description: str, kind: str = "word", missing: str | None = None
    ) -> None:
        self.name = name
        self.path = path
        self.description = description
        self.kind = kind
        self.missing = missing or f"{path} does not exist on this kernel"

    def paths(self) -> list[Path]:
        return [self.path]

    def missing_reason(self) -> str:
        return self.missing

    def read(self) -> str:
        return self.normalize(_read_file(self.path))

    def write(self, value: str) -> None:
        _write_file(self.path, value)


class SysctlKnob(FileKnob):
    def __init__(self, name: str, description: str, kind: str = "int") -> None:
        super().__init__(name, PROC_SYS / name.replace(".", "/"), description, kind)


class ChoiceKnob(FileKnob):
    """A sysfs file listing its options with the selected one bracketed: ``always [madvise] never``."""

    def __init__(self, name: str, path: Path, description: str) -> None:
        super().__init__(name, path, description, kind="choice")

    def options(self) -> list[str] | None:
        words = _words(self.path)
        return None if words is None else [w.strip("[]") for w in words]


class CongestionControlKnob(SysctlKnob):
    """tcp_congestion_control, checked against tcp_available_congestion_control."""

    def __init__(self) -> None:
        super().__init__(
            "net.ipv4.tcp_congestion_control", "default TCP congestion control (bbr, cubic, …)", kind="word"
        )

    def options(self) -> list[str] | None:
        return _words(PROC_SYS / "net/ipv4/tcp_available_congestion_control")


class QdiscKnob(SysctlKnob):
    """default_qdisc: the kernel does not list built qdiscs, so this only hints from /proc/kallsyms."""

    def __init__(self) -> None:
        super().__init__(
            "net.core.default_qdisc", "default queueing discipline for new interfaces", kind="word"
        )

    def check_value(self, value: str) -> str | None:
        if Path("/proc/modules").exists():
            return None  # a module may be loaded on demand: only a write can tell
        symbols = _kallsyms_text_symbols()
        if symbols and f"{value}_enqueue" not in symbols:
            return f"qdisc {value!r} is not built into this kernel (no {value}_enqueue in /proc/kallsyms)"
        return None


_KALLSYMS: set[str] | None = None


def _kallsyms_text_symbols() -> set[str]:
    global _KALLSYMS
    if _KALLSYMS is None:
        symbols: set[str] = set()
        try:
            with open("/proc/kallsyms") as handle:
                for line in handle:
                    parts = line.split()
                    if len(parts) >= 3 and parts[0].strip("0") and parts[2].endswith("_enqueue"):
                        symbols.add(parts[2])
        except OSError:
            pass
        _KALLSYMS = symbols
    return _KALLSYMS


class DirtyPairKnob(SysctlKnob):
    """vm.dirty_ratio/dirty_bytes (and the background pair): writing one member zeroes the other, so the
    saved state names the active member and restore writes that one."""

    def __init__(self, name: str, partner: str, description: str) -> None:
        super().__init__(name, description, kind="int")
        self.partner = partner

    def _partner_path(self) -> Path:
        return PROC_SYS / self.partner.replace(".", "/")

    def validate(self, value: str) -> str | None:
        reason = super().validate(value)
        if reason is None and not value.startswith(">=") and int(value) == 0:
            return f"{self.name}=0 cannot be written: set {self.partner} instead (the kernel zeroes this one)"
        return reason

    def save(self) -> str:
        own = self.read()
        if own.strip() not in ("", "0"):
            return f"{self.name}={own}"
        partner = self.normalize(_read_file(self._partner_path()))
        return f"{self.partner}={partner}"

    def restore(self, saved: str) -> None:
        name, _, value = saved.partition("=")
        if name == self.name:
            self.write(value)
        elif name == self.partner:
            _write_file(self._partner_path(), value)
        else:
            raise PerflabError(f"{self.name}: journal token {saved!r} names neither member of the pair")


class PerCpuKnob(Knob):
    """The same attribute on every CPU (cpufreq governor, EPP, EPB, cpuidle state disable)."""

    def __init__(self, name: str, pattern: str, description: str, missing: str, kind: str = "word") -> None:
        self.name = name
        self.pattern = pattern
        self.description = description
        self.missing = missing
        self.kind = kind

    def paths(self) -> list[Path]:
        return sorted((Path(p) for p in glob.glob(str(CPU_SYS / self.pattern))), key=_natural)

    def missing_reason(self) -> str:
        return self.missing

    def read(self) -> str:
        values = {str(p): self.normalize(_read_file(p)) for p in self.paths()}
        if not values:
            raise PerflabError(f"{self.name}: {self.missing}")
        distinct = set(values.values())
        if len(distinct) == 1:
            return distinct.pop()
        return " ".join(f"{_cpu_of(p)}={v}" for p, v in values.items())

    def write(self, value: str) -> None:
        paths = self.paths()
        if not paths:
            raise KnobWriteError(f"{self.name}: {self.missing}", rejected=False)
        for path in paths:
            _write_file(path, value)

    def save(self) -> str:
        return "\n".join(f"{p}\t{self.normalize(_read_file(p))}" for p in self.paths())

    def restore(self, saved: str) -> None:
        known = {str(p) for p in self.paths()}
        for line in saved.splitlines():
            path, _, value = line.partition("\t")
            if path not in known:
                raise PerflabError(
                    f"{self.name}: journal names {path}, which is not one of this knob's files"
                )
            _write_file(Path(path), value)

    def options(self) -> list[str] | None:
        if self.name != "cpu.governor":
            return None
        paths = self.paths()
        return _words(paths[0].parent / "scaling_available_governors") if paths else None


class CStateKnob(PerCpuKnob):
    """Which cpuidle states are disabled on all CPUs: ``none``, ``deep`` (all but the shallowest
    non-POLL state) or state names (``C6 C1E``)."""

    def __init__(self) -> None:
        super().__init__(
            "cpu.cstate_disable",
            "cpu[0-9]*/cpuidle/state[0-9]*/disable",
            "disabled C-states on every CPU: none, deep, or state names",
            "no cpuidle states exposed (/sys/devices/system/cpu/cpu*/cpuidle missing: VM or idle=poll)",
        )

    def validate(self, value: str) -> str | None:
        return None if value.strip() else "cpu.cstate_disable: empty value (use none)"

    def _states(self) -> list[tuple[Path, str]]:
        return [(p, (p.parent / "name").read_text().strip()) for p in self.paths()]

    def read(self) -> str:
        states = self._states()
        if not states:
            raise PerflabError(f"{self.name}: {self.missing}")
        disabled = {name for p, name in states if _read_file(p).strip() == "1"}
        enabled = {name for p, name in states if _read_file(p).strip() != "1"}
        if disabled & enabled:
            return "mixed"
        return " ".join(sorted(disabled)) or "none"

    def _wanted(self, value: str) -> set[str]:
        names = sorted({name for _, name in self._states()}, key=lambda n: (n != "POLL", n))
        if value == "none":
            return set()
        if value == "deep":
            real = [n for n in names if n != "POLL"]
            return set(real[1:])
        return set(value.split())

    def check_value(self, value: str) -> str | None:
        known = {name for _, name in self._states()}
        if value == "deep" and known and not self._wanted(value):
            shown = ", ".join(sorted(known, key=lambda n: (n != "POLL", n)))
            return f"no deep C-state to disable here (the only states are {shown}): nothing to write"
        unknown = self._wanted(value) - known
        return f"unknown C-states {sorted(unknown)} (have {sorted(known)})" if unknown else None

    def normalize(self, value: str) -> str:
        return " ".join(sorted(value.split()))

    def write(self, value: str) -> None:
        wanted = self._wanted(value)
        for path, name in self._states():
            _write_file(path, "1" if name in wanted else "0")


def _natural(path: Path) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path)))


def _cpu_of(path: str) -> str:
    for part in Path(path).parts:
        if part.startswith("cpu") and part[3:].isdigit():
            return part
    return path


_NO_CPUFREQ = (
    "no cpufreq (/sys/devices/system/cpu/cpu*/cpufreq missing: VM without frequency scaling or no driver)"
)


def _build() -> dict[str, Knob]:
    knobs: list[Knob] = [
        ChoiceKnob("transparent_hugepage.enabled", THP_SYS / "enabled", "transparent huge pages policy"),
        ChoiceKnob("transparent_hugepage.defrag", THP_SYS / "defrag", "THP defragmentation on fault"),
        SysctlKnob("vm.swappiness", "how eagerly anonymous memory is swapped"),
        DirtyPairKnob("vm.dirty_ratio", "vm.dirty_bytes", "dirty page limit, % of memory"),
        DirtyPairKnob("vm.dirty_bytes", "vm.dirty_ratio", "dirty page limit in bytes"),
        DirtyPairKnob(
            "vm.dirty_background_ratio", "vm.dirty_background_bytes", "background writeback start, %"
        ),
        DirtyPairKnob(
            "vm.dirty_background_bytes", "vm.dirty_background_ratio", "background writeback start, B"
        ),
        SysctlKnob("kernel.randomize_va_space", "ASLR: 0 off, 1 stack/mmap, 2 also heap"),
        SysctlKnob("kernel.perf_event_max_sample_rate", "perf sampling interrupt rate limit"),
        SysctlKnob("kernel.numa_balancing", "automatic NUMA page migration"),
        SysctlKnob("kernel.sched_autogroup_enabled", "group tasks by session for the scheduler"),
        SysctlKnob("kernel.io_uring_disabled", "0 io_uring for all, 1 only privileged group, 2 nobody"),
        SysctlKnob("kernel.nmi_watchdog", "NMI lockup detector (perf counter user)"),
        SysctlKnob("net.core.rmem_max", "max socket receive buffer (SO_RCVBUF)"),
        SysctlKnob("net.core.wmem_max", "max socket send buffer (SO_SNDBUF)"),
        SysctlKnob("net.core.somaxconn", "listen() backlog limit"),
        SysctlKnob("net.core.netdev_max_backlog", "per-CPU input queue length"),
        QdiscKnob(),
        SysctlKnob("net.core.busy_read", "busy-poll µs for socket reads"),
        SysctlKnob("net.core.busy_poll", "busy-poll µs for poll/select"),
        CongestionControlKnob(),
        SysctlKnob("net.ipv4.tcp_rmem", "TCP receive buffer min default max", kind="list"),
        SysctlKnob("net.ipv4.tcp_wmem", "TCP send buffer min default max", kind="list"),
        SysctlKnob("net.ipv4.tcp_fastopen", "TFO bitmask: 1 client, 2 server"),
        SysctlKnob("net.ipv4.tcp_slow_start_after_idle", "reset cwnd after idle"),
        SysctlKnob("net.ipv4.tcp_notsent_lowat", "unsent bytes limit before EPOLLOUT"),
        SysctlKnob("net.ipv4.tcp_mtu_probing", "packetization-layer PMTU discovery"),
        PerCpuKnob(
            "cpu.governor", "cpu[0-9]*/cpufreq/scaling_governor", "cpufreq governor (all CPUs)", _NO_CPUFREQ
        ),
        PerCpuKnob(
            "cpu.energy_performance_preference",
            "cpu[0-9]*/cpufreq/energy_performance_preference",
            "HWP energy/performance preference (all CPUs)",
            "no energy_performance_preference (needs intel_pstate/amd_pstate active mode; absent in VMs)",
        ),
        PerCpuKnob(
            "cpu.energy_perf_bias",
            "cpu[0-9]*/power/energy_perf_bias",
            "Intel EPB 0 performance … 15 powersave (all CPUs)",
            "no energy_perf_bias (Intel-only MSR, not exposed here)",
            kind="int",
        ),
        FileKnob(
            "cpu.boost",
            CPU_SYS / "cpufreq/boost",
            "CPU boost/turbo (acpi-cpufreq, amd-pstate)",
            "int",
            "no /sys/devices/system/cpu/cpufreq/boost (no cpufreq driver with boost: VM?)",
        ),
        FileKnob(
            "cpu.no_turbo",
            CPU_SYS / "intel_pstate/no_turbo",
            "intel_pstate turbo off switch",
            "int",
            "no intel_pstate (not an Intel CPU driven by intel_pstate)",
        ),
        CStateKnob(),
    ]
    return {knob.name: knob for knob in knobs}


KNOBS: dict[str, Knob] = _build()

ALIASES = {
    "thp.enabled": "transparent_hugepage.enabled",
    "thp.defrag": "transparent_hugepage.defrag",
    "cpu.scaling_governor": "cpu.governor",
}


def get_knob(name: str) -> Knob:
    """The knob called ``name``; PerflabError for a name perflab does not know (it writes no other file)."""
    knob = KNOBS.get(ALIASES.get(name, name))
    if knob is None:
        raise PerflabError(
            f"unknown knob {name!r}: perflab writes only knobs it knows (see `perflab system audit`)"
        )
    return knob


@dataclass(frozen=True)
class Alternative:
    """One alternative of a value spec: ``op`` is ``=`` (exact) or ``>=`` (at least)."""

    op: str
    value: str


def read_or_none(knob: Knob) -> str | None:
    """The knob's current value; None where it cannot be read (missing file, no permission)."""
    try:
        return knob.read()
    except (PerflabError, OSError):
        return None


def read_values(names: list[str] | tuple[str, ...]) -> dict[str, str | None]:
    """Current value of each named knob; None where it cannot be read (missing file, unknown here)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = read_or_none(get_knob(name))
        except PerflabError:
            out[name] = None
    return out


def parse_spec(knob: Knob, spec: str) -> list[Alternative]:
    """Split ``a|b`` and ``>=N`` modifiers; PerflabError when the spec is malformed for this knob."""
    alternatives = []
    for part in str(spec).split("|"):
        text = part.strip()
        op = "="
        if text.startswith(">="):
            op, text = ">=", text[2:].strip()
            if knob.kind not in ("int", "list"):
                raise PerflabError(f"{knob.name}: '>=' needs a numeric knob, {knob.name} is {knob.kind}")
        value = knob.normalize(text)
        reason = knob.validate(value)
        if reason:
            raise PerflabError(reason)
        alternatives.append(Alternative(op, value))
    if not alternatives:
        raise PerflabError(f"{knob.name}: empty value")
    return alternatives


def satisfies(knob: Knob, alt: Alternative, current: str) -> bool:
    """Whether ``current`` meets one alternative (``>=`` compares element by element)."""
    current = knob.normalize(current)
    if alt.op == "=":
        return current == alt.value
    have, want = current.split(), alt.value.split()
    if len(have) != len(want) or not all(_is_int(h) for h in have):
        return False
    return all(int(h) >= int(w) for h, w in zip(have, want, strict=True))


def _target(knob: Knob, alt: Alternative, current: str) -> str:
    """The value to write for ``alt``: for ``>=`` keep every element already above its floor."""
    if alt.op == "=":
        return alt.value
    have, want = knob.normalize(current).split(), alt.value.split()
    if len(have) == len(want) and all(_is_int(h) for h in have):
        return " ".join(str(max(int(h), int(w))) for h, w in zip(have, want, strict=True))
    return alt.value


def candidates(knob: Knob, spec: str, current: str) -> list[str]:
    """Values worth trying for ``spec``, in order, skipping alternatives the kernel says it cannot take."""
    values = []
    for alt in parse_spec(knob, spec):
        target = _target(knob, alt, current)
        if knob.check_value(target) is None and target not in values:
            values.append(target)
    return values


def resolve_value(knob: Knob, spec: str, current: str) -> str | None:
    """The value to write to satisfy ``spec`` (``current`` when it already does); None when no
    alternative can be taken by this kernel."""
    if matches(knob, spec, current):
        return knob.normalize(current)
    found = candidates(knob, spec, current)
    return found[0] if found else None


def preferred(knob: Knob, spec: str) -> Alternative:
    """The first alternative this kernel can take (``a|b``: first that works); the first one when the
    kernel cannot tell."""
    alts = parse_spec(knob, spec)
    for alt in alts:
        if alt.op == ">=" or knob.check_value(alt.value) is None:
            return alt
    return alts[0]


def matches(knob: Knob, spec: str, current: str) -> bool:
    """Whether ``current`` satisfies ``spec``: the preferred alternative, or a later one when the kernel
    refuses the earlier (lists compared whitespace-normalised)."""
    return satisfies(knob, preferred(knob, spec), current)
