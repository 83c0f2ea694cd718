"""In-app tuning: ``apply_runtime(profile)`` for an application to call at start-up.

It applies what this machine allows, reads every value back and returns a report of what took and
what was refused (with the reason) instead of raising: an application must start even on a laptop
without root. Process-level changes (affinity, nice, scheduling policy, mempolicy, THP opt-out) are
undone at interpreter exit; system-level ones (sysctls, sysfs) go through perflab's journaled apply,
so ``perflab system rollback`` can always undo them, and are restored at exit only when asked.
``PERFLAB_DISABLE_TUNING=1`` turns the whole call into a no-op that says so.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from perflab.errors import PerflabError
from perflab.system.process import (
    _SCHED_NAMES,
    MPOL_BIND,
    MPOL_INTERLEAVE,
    PR_GET_THP_DISABLE,
    PR_SET_THP_DISABLE,
    ProcessTuning,
    ProcessTuningError,
    _libc,
    _os_reason,
    format_id_list,
    get_mempolicy,
    set_mempolicy,
)

OutcomeStatus = Literal["applied", "unchanged", "refused"]
_MPOL_NAMES = {0: "default", 1: "prefer", 2: "bind", 3: "interleave", 4: "local"}


@dataclass
class Outcome:
    """One knob or process setting: ``applied`` (written and read back), ``unchanged`` (already had the
    value: nothing written) or ``refused`` (not in force; ``reason`` says why)."""

    name: str
    requested: str
    status: OutcomeStatus
    observed: str | None = None
    reason: str = ""


@dataclass
class RuntimeReport:
    profile: str
    enabled: bool = True
    reason: str = ""  # why disabled
    outcomes: list[Outcome] = field(default_factory=list)
    restore_at_exit: bool = False
    _undo: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def applied(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "applied"]

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "refused"]

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "enabled": self.enabled, "reason": self.reason,
                "restore_at_exit": self.restore_at_exit, "outcomes": [asdict(o) for o in self.outcomes]}

    def summary(self) -> str:
        """A few lines an application can log at start-up."""
        if not self.enabled:
            return f"perflab tuning disabled ({self.reason})"
        lines = [f"perflab tuning {self.profile}: {len(self.applied)} applied, "
                 f"{sum(o.status == 'unchanged' for o in self.outcomes)} already set, "
                 f"{len(self.refused)} refused"]
        for o in self.outcomes:
            detail = f"now {o.observed}" if o.status != "refused" else o.reason
            lines.append(f"  {o.status:9} {o.name}={o.requested} ({detail})")
        return "\n".join(lines)

    def undo(self) -> list[str]:
        """Undo now (newest first) what is registered for undoing; returns the errors, if any."""
        errors: list[str] = []
        while self._undo:
            step = self._undo.pop()
            try:
                step()
            except Exception as error:  # noqa: BLE001 - undo must try every step
                errors.append(str(error))
        return errors


def _disabled() -> str | None:
    value = os.environ.get("PERFLAB_DISABLE_TUNING", "").strip().lower()
    if value and value not in ("0", "false", "no", "off"):
        return f"PERFLAB_DISABLE_TUNING={os.environ['PERFLAB_DISABLE_TUNING']}"
    return None


def apply_runtime(
    profile: str | dict[str, str],
    *,
    process: ProcessTuning | None = None,
    restore_at_exit: bool = False,
) -> RuntimeReport:
    """Apply a profile (name, path, or {knob: value}) and per-process settings to this process.

    Never raises for a setting the machine refuses (that is in the report); raises PerflabError only
    for a malformed profile or an unknown knob, before anything is changed."""
    label = profile if isinstance(profile, str) else "inline"
    disabled = _disabled()
    if disabled:
        return RuntimeReport(profile=label, enabled=False, reason=disabled, restore_at_exit=restore_at_exit)
    settings = _settings_of(profile)
    report = RuntimeReport(profile=label, restore_at_exit=restore_at_exit)
    system_undo = _apply_system(settings, report, label)
    if restore_at_exit:
        report._undo.extend(system_undo)
    if process is not None and not process.is_empty():
        report._undo.extend(_apply_process(process, report))
    if report._undo:
        atexit.register(report.undo)
    return report


def _settings_of(profile: str | dict[str, str]) -> dict[str, str]:
    if isinstance(profile, dict):
        from perflab.system.knobs import get_knob, parse_spec

        for name, spec in profile.items():
            parse_spec(get_knob(name), str(spec))  # unknown knob / malformed value: error before any change
        return {name: str(spec) for name, spec in profile.items()}
    from perflab.system.profiles import load_profile

    return dict(load_profile(profile).settings)


# -- system knobs -----------------------------------------------------------------------------------


def _apply_system(settings: dict[str, str], report: RuntimeReport, label: str) -> list[Callable[[], None]]:
    """Each knob on its own journaled apply, so one refused knob does not roll back the others."""
    from perflab.system import apply as sysapply
    from perflab.system.knobs import get_knob, matches, read_or_none

    undo: list[Callable[[], None]] = []
    for name, spec in settings.items():
        knob = get_knob(name)
        current = read_or_none(knob)
        if current is not None and matches(knob, spec, current):
            report.outcomes.append(Outcome(name, spec, "unchanged", current))
            continue
        ok, why = knob.available()
        if not ok:
            report.outcomes.append(Outcome(name, spec, "refused", read_or_none(knob), why))
            continue
        try:
            result = sysapply.apply_settings({name: spec}, label=f"apply_runtime:{label}")
        except PerflabError as error:
            report.outcomes.append(Outcome(name, spec, "refused", read_or_none(knob), error.message))
            continue
        report.outcomes.append(_outcome_from(result, name, spec, knob))
        if report.outcomes[-1].status == "applied":
            undo.append(lambda result=result: sysapply.restore(result))
    return undo


def _outcome_from(result: Any, name: str, spec: str, knob: Any) -> Outcome:
    """H4's per-knob result as an Outcome; ``applied`` there already means written and read back."""
    from perflab.system.knobs import read_or_none

    entry = next((r for r in result.results if r.knob == knob.name), None)
    if entry is None:
        return Outcome(name, spec, "refused", read_or_none(knob), "no result for this knob from apply")
    if entry.status == "applied":
        return Outcome(name, spec, "applied", entry.after)
    if entry.status == "unchanged":
        return Outcome(name, spec, "unchanged", entry.after)
    reason = entry.reason or f"{entry.status}: reads {entry.after!r}, wanted {entry.wanted!r}"
    return Outcome(name, spec, "refused", entry.after if entry.after is not None else entry.before,
                   f"{entry.status}: {reason}" if entry.reason else reason)


# -- this process --------------------------------------------------------------------------------------


def _tids() -> list[int]:
    try:
        return sorted(int(t) for t in os.listdir("/proc/self/task"))
    except OSError:
        return [threading.get_native_id()]


def _apply_process(tuning: ProcessTuning, report: RuntimeReport) -> list[Callable[[], None]]:
    """Apply to every thread of this process where the kernel allows it (affinity, policy and nice are
    per-thread); mempolicy can only be set for the calling thread, so the report says so."""
    undo: list[Callable[[], None]] = []
    tids = _tids()
    me = threading.get_native_id()

    def step(name: str, requested: str, do: Callable[[], str], undo_fn: Callable[[], None] | None) -> None:
        try:
            observed = do()
        except (OSError, ProcessTuningError) as error:
            reason = error.message if isinstance(error, PerflabError) else _os_reason(error)
            report.outcomes.append(Outcome(f"process.{name}", requested, "refused", None, reason))
            return
        if undo_fn is not None:
            undo.append(undo_fn)
        if observed == requested:
            report.outcomes.append(Outcome(f"process.{name}", requested, "applied", observed))
        else:
            report.outcomes.append(Outcome(f"process.{name}", requested, "refused", observed,
                                           f"read back {observed!r}"))

    if tuning.pin is not None:
        old_aff = {t: os.sched_getaffinity(t) for t in tids}
        want = format_id_list(tuning.pin)

        def pin() -> str:
            for t in tids:
                os.sched_setaffinity(t, tuning.pin or ())
            seen = {format_id_list(os.sched_getaffinity(t)) for t in tids}
            return seen.pop() if len(seen) == 1 else " ".join(sorted(seen))

        def unpin() -> None:
            for t, cpus in old_aff.items():
                with contextlib.suppress(ProcessLookupError):
                    os.sched_setaffinity(t, cpus)

        step("pin", want, pin, unpin)
    if tuning.sched is not None:
        name, prio = tuning.sched
        old_sched = {t: (os.sched_getscheduler(t), os.sched_getparam(t).sched_priority) for t in tids}
        policy = _SCHED_NAMES[name]

        def sched() -> str:
            for t in tids:
                os.sched_setscheduler(t, policy, os.sched_param(prio))
            got = {(os.sched_getscheduler(t), os.sched_getparam(t).sched_priority) for t in tids}
            return f"{name}:{prio}" if got == {(policy, prio)} else str(sorted(got))

        def unsched() -> None:
            for t, (pol, pr) in old_sched.items():
                with contextlib.suppress(ProcessLookupError):
                    os.sched_setscheduler(t, pol, os.sched_param(pr))

        step("sched", f"{name}:{prio}", sched, unsched)
    if tuning.nice is not None:
        old_nice = {t: os.getpriority(os.PRIO_PROCESS, t) for t in tids}
        nice_value = tuning.nice

        def nice() -> str:
            for t in tids:
                os.setpriority(os.PRIO_PROCESS, t, nice_value)
            got = {os.getpriority(os.PRIO_PROCESS, t) for t in tids}
            return str(got.pop()) if len(got) == 1 else str(sorted(got))

        def unnice() -> None:
            for t, value in old_nice.items():
                with contextlib.suppress(ProcessLookupError):
                    os.setpriority(os.PRIO_PROCESS, t, value)

        step("nice", str(nice_value), nice, unnice)
    if tuning.membind is not None or tuning.interleave is not None:
        mode, nodes, label = ((MPOL_BIND, tuning.membind, "membind") if tuning.membind is not None
                              else (MPOL_INTERLEAVE, tuning.interleave, "interleave"))
        assert nodes is not None
        old_mode, old_nodes = get_mempolicy()

        def mpol() -> str:
            set_mempolicy(mode, nodes)
            got_mode, got_nodes = get_mempolicy()
            return f"{_MPOL_NAMES.get(got_mode, got_mode)}:{format_id_list(got_nodes)}"

        def unmpol() -> None:
            set_mempolicy(old_mode, sorted(old_nodes) if old_mode else [])

        kind = "bind" if mode == MPOL_BIND else "interleave"
        step(label, f"{kind}:{format_id_list(nodes)}", mpol, unmpol)
        if len(tids) > 1 and report.outcomes[-1].status == "applied":
            report.outcomes[-1].reason = (f"calling thread {me} only (and threads it starts later); "
                                          f"{len(tids) - 1} existing threads keep their policy")
    if tuning.thp is not None:
        libc = _libc()

        def thp_state() -> int:
            return int(libc.prctl(PR_GET_THP_DISABLE, *[ctypes.c_ulong(0)] * 4))

        old_thp = thp_state()

        def thp() -> str:
            if libc.prctl(PR_SET_THP_DISABLE, ctypes.c_ulong(1), *[ctypes.c_ulong(0)] * 3) != 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            return "never" if thp_state() else "system default"

        def unthp() -> None:
            libc.prctl(PR_SET_THP_DISABLE, ctypes.c_ulong(old_thp), *[ctypes.c_ulong(0)] * 3)

        step("thp", tuning.thp, thp, unthp)
    if tuning.no_aslr:
        report.outcomes.append(Outcome(
            "process.no_aslr", "ADDR_NO_RANDOMIZE", "refused", None,
            "a running process's address space is already laid out; ASLR can only be turned off for a "
            "program started with it (perflab bench --no-aslr, setarch -R)"))
    return undo
