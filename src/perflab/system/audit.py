"""What holds this machine back: every knob's current value, what a profile wants, and whether perflab
could change it here (and why not). Also ``verify``: a profile's expected values against the actual ones.
Read-only: nothing here writes."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from perflab.system.knobs import KNOBS, Knob, matches, parse_spec, preferred, read_or_none
from perflab.system.probes import Probes, probe_all
from perflab.system.profiles import Profile


@dataclass
class AuditRow:
    knob: str
    description: str
    current: str | None
    wanted: str | None
    ok: bool | None  # current satisfies wanted; None without a profile or when unreadable
    changeable: bool
    reason: str  # why it cannot be changed here (or why the wanted value cannot be taken)


@dataclass
class AuditReport:
    rows: list[AuditRow] = field(default_factory=list)
    probes: Probes = field(default_factory=Probes)
    profile: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "probes": self.probes.to_dict(),
            "knobs": [asdict(r) for r in self.rows],
        }


def _why_not(knob: Knob, wanted: str | None, probes: Probes) -> tuple[bool, str]:
    ok, why = knob.available()
    vm = probes.get("vm")
    in_vm = vm is not None and vm.value.startswith("yes")
    if not ok:
        if in_vm and knob.name.startswith("cpu.") and not any(p.exists() for p in knob.paths()):
            why = f"VM: {why}"
        proc_sys = probes.get("proc_sys")
        if (
            proc_sys is not None
            and proc_sys.value == "read-only"
            and knob.name.split(".")[0] in ("vm", "kernel", "net")
        ):
            why = f"read-only /proc/sys (container): {why}"
        return False, why
    refused = _refusal(knob, wanted) if wanted is not None else ""
    if refused:
        return False, f"value unsupported: {refused}"
    return True, ""


def _refusal(knob: Knob, spec: str) -> str:
    """Why the kernel can take none of the spec's ``=`` alternatives; "" when one may work."""
    reasons = [knob.check_value(alt.value) for alt in parse_spec(knob, spec) if alt.op == "="]
    return "; ".join(r for r in reasons if r) if reasons and all(reasons) else ""


def audit(profile: Profile | None = None) -> AuditReport:
    """Every knob perflab knows, plus the machine probes."""
    probes = probe_all()
    report = AuditReport(probes=probes, profile=profile.name if profile else None)
    wanted_by = profile.settings if profile else {}
    for name, knob in KNOBS.items():
        wanted = wanted_by.get(name)
        current = read_or_none(knob)
        ok = None if wanted is None or current is None else matches(knob, wanted, current)
        changeable, reason = _why_not(knob, wanted, probes)
        if changeable and wanted is not None and current is not None and not ok:
            reason = knob.check_value(preferred(knob, wanted).value) or reason
        report.rows.append(AuditRow(name, knob.description, current, wanted, ok, changeable, reason))
    if os.geteuid() != 0:
        for row in report.rows:
            if row.changeable:
                row.changeable, row.reason = False, "needs root"
    return report


@dataclass
class VerifyRow:
    knob: str
    expected: str
    actual: str | None
    status: str  # ok | drift | not-applicable
    reason: str = ""


def verify(settings: dict[str, str]) -> list[VerifyRow]:
    """Expected against actual for every knob of a profile (drift is reported, not fixed)."""
    from perflab.system.knobs import get_knob

    rows = []
    for name, spec in settings.items():
        knob = get_knob(name)
        available, why = knob.available()
        actual = read_or_none(knob)
        if actual is None:
            rows.append(VerifyRow(knob.name, spec, None, "not-applicable", why or "cannot read"))
        elif matches(knob, spec, actual):
            rows.append(VerifyRow(knob.name, spec, actual, "ok"))
        else:
            refused = _refusal(knob, spec)
            if refused:
                rows.append(VerifyRow(knob.name, spec, actual, "not-applicable", refused))
                continue
            reason = "" if available or why == "needs root" else why
            rows.append(VerifyRow(knob.name, spec, actual, "drift", reason))
    return rows
