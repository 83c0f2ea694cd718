"""Apply knob settings with a write-ahead journal, read every write back, undo on failure.

A knob counts as applied only when reading it back shows the wanted value. A knob whose file is missing
or whose value the kernel rejects is *not applicable* (reported with the reason, the others still apply);
a write that fails otherwise or does not take is *failed*: everything this call applied is put back
(unless ``keep_partial``) and the remaining knobs are skipped.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from perflab.errors import NeedsRootError, PerflabError
from perflab.system import journal
from perflab.system.knobs import (
    Alternative,
    DirtyPairKnob,
    Knob,
    KnobWriteError,
    candidates,
    get_knob,
    matches,
    parse_spec,
    read_or_none,
    satisfies,
)

STATUSES = ("applied", "unchanged", "failed", "not-applicable", "skipped", "rolled-back")

#: Test hook: seconds to sleep after each knob written, so a test can SIGKILL an apply mid-way.
PAUSE_ENV = "PERFLAB_TEST_APPLY_PAUSE"


@dataclass
class KnobResult:
    knob: str
    before: str | None
    wanted: str
    after: str | None
    status: str
    reason: str = ""


@dataclass
class ApplyReport:
    results: list[KnobResult] = field(default_factory=list)
    dry_run: bool = False
    label: str = ""
    txn: str | None = None
    rolled_back: bool = False

    @property
    def ok(self) -> bool:
        """No knob failed (not-applicable knobs do not count as failures)."""
        return not any(r.status in ("failed", "rolled-back") for r in self.results)

    @property
    def applied(self) -> list[KnobResult]:
        return [r for r in self.results if r.status == "applied"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "label": self.label,
            "txn": self.txn,
            "ok": self.ok,
            "rolled_back": self.rolled_back,
            "results": [asdict(r) for r in self.results],
        }


@dataclass
class RestoreResult:
    knob: str
    original: str
    before: str | None
    after: str | None
    status: str  # restored | failed | unchanged-since-reboot | differs-since-reboot
    reason: str = ""


@dataclass
class RollbackReport:
    results: list[RestoreResult] = field(default_factory=list)
    rebooted: bool = False
    message: str = ""
    unreadable: list[str] = field(default_factory=list)  # journal lines whose change could not be known
    notes: list[str] = field(default_factory=list)  # torn records ignored, journal set aside, ...

    @property
    def ok(self) -> bool:
        return not any(r.status == "failed" for r in self.results) and not self.unreadable

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rebooted": self.rebooted,
            "message": self.message,
            "unreadable": self.unreadable,
            "notes": self.notes,
            "results": [asdict(r) for r in self.results],
        }


@dataclass
class StatusEntry:
    knob: str
    original: str
    wanted: str
    current: str | None
    in_force: bool
    label: str
    time: float
    stale_boot: bool


def _check_root(what: str) -> None:
    if os.geteuid() != 0:
        raise NeedsRootError(f"{what} needs root (writes to /proc/sys and /sys); nothing was changed")


def _validate(settings: dict[str, str]) -> list[tuple[Knob, str]]:
    pairs = []
    for name, spec in settings.items():
        knob = get_knob(name)
        try:
            parse_spec(knob, spec)
        except PerflabError as error:
            raise PerflabError(f"{name}={spec!r}: {error.message}") from None
        pairs.append((knob, str(spec)))
    names = {knob.name for knob, _ in pairs}
    for knob, _ in pairs:
        if isinstance(knob, DirtyPairKnob) and knob.partner in names and knob.name < knob.partner:
            raise PerflabError(
                f"set only one of {knob.name} and {knob.partner}: writing one zeroes the other"
            )
    return pairs


def apply_settings(
    settings: dict[str, str], *, dry_run: bool = False, label: str = "", keep_partial: bool = False
) -> ApplyReport:
    """Apply knob → value-spec settings; see the module docstring for the statuses."""
    pairs = _validate(settings)
    if not dry_run:
        _check_root("applying system tunings")
    report = ApplyReport(dry_run=dry_run, label=label)
    pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
    with journal.locked():
        try:
            _apply_all(pairs, report, keep_partial, pause)
        except journal.JournalWriteError as error:
            # The record before a write could not be made durable: that knob was not touched; put back
            # what this call changed (restoring needs no new journal space to be correct).
            undone = _undo_txn(report) if report.txn else []
            what = f"; put back {', '.join(undone)}" if undone else "; no knob had been changed"
            raise PerflabError(error.message + what) from None
        except BaseException:
            # Ctrl-C or a bug mid-apply: put back what this call changed, then let it propagate.
            if report.txn:
                _undo_txn(report)
            raise
        finally:
            if report.txn:
                with contextlib.suppress(journal.JournalWriteError):  # the intents already say it all
                    journal.append({"type": "end", "txn": report.txn, "ok": report.ok})
    return report


def _apply_all(pairs: list[tuple[Knob, str]], report: ApplyReport, keep_partial: bool, pause: float) -> None:
    failed_knob: str | None = None
    for knob, spec in pairs:
        if failed_knob is not None:
            report.results.append(
                KnobResult(
                    knob.name,
                    read_or_none(knob),
                    spec,
                    None,
                    "skipped",
                    f"not attempted: {failed_knob} failed",
                )
            )
            continue
        result = _apply_one(knob, spec, report)
        report.results.append(result)
        if result.status == "failed" and not keep_partial:
            failed_knob = knob.name
            _undo_txn(report)
        elif result.status in ("applied", "failed") and pause:
            time.sleep(pause)


def _apply_one(knob: Knob, spec: str, report: ApplyReport) -> KnobResult:
    ok, why = knob.available()
    if not ok and not (report.dry_run and why == "needs root"):
        return KnobResult(knob.name, read_or_none(knob), spec, None, "not-applicable", why)
    try:
        before = knob.read()
    except PerflabError as error:
        return KnobResult(knob.name, None, spec, None, "not-applicable", error.message)
    if matches(knob, spec, before):
        return KnobResult(knob.name, before, spec, before, "unchanged")
    values = candidates(knob, spec, before)
    if not values:
        reasons = "; ".join(filter(None, (knob.check_value(a.value) for a in parse_spec(knob, spec))))
        return KnobResult(knob.name, before, spec, before, "not-applicable", reasons or "value unsupported")
    if report.dry_run:
        note = " (needs root)" if not ok else ""
        return KnobResult(
            knob.name, before, values[0], before, "skipped", f"dry run: would write {values[0]!r}{note}"
        )
    if report.txn is None:
        report.txn = journal.new_txn(report.label)
    saved = knob.save()
    journal.append(
        {
            "type": "intent",
            "txn": report.txn,
            "knob": knob.name,
            "saved": saved,
            "before": before,
            "wanted": values[0],
        }
    )
    status, reason, wanted = "not-applicable", "", values[0]
    rejections = []
    for value in values:
        wanted = value
        try:
            knob.write(value)
        except KnobWriteError as error:
            if error.rejected:
                rejections.append(error.message)
                continue
            status, reason = "failed", error.message
            break
        status = "written"
        break
    else:
        reason = "; ".join(rejections)
    after = read_or_none(knob)
    if status == "written":  # applied only once the read-back shows the value
        if after is not None and satisfies(knob, Alternative("=", wanted), after):
            status = "applied"
        else:
            status, reason = "failed", f"wrote {wanted!r} but it reads back as {after!r}"
    journal.append({"type": "result", "txn": report.txn, "knob": knob.name, "status": status, "after": after})
    if status != "applied":
        if after != before:  # a multi-file knob may be half-written: put it back now
            try:
                knob.restore(saved)
            except PerflabError as error:
                reason += f"; could not put back {before!r}: {error.message} (run `perflab system rollback`)"
                return KnobResult(knob.name, before, wanted, read_or_none(knob), status, reason)
            after = read_or_none(knob)
        if after == before:
            journal.append({"type": "restored", "txn": report.txn, "knob": knob.name})
    return KnobResult(knob.name, before, wanted, after, status, reason)


def _undo_txn(report: ApplyReport) -> list[str]:
    """Put back what this call applied, newest first; mark those results rolled-back; the names."""
    restored = _restore_report(report)
    done = {r.knob for r in restored.results if r.status == "restored"}
    for result in report.results:
        if result.status == "applied" and result.knob in done:
            result.status = "rolled-back"
            result.reason = "undone after a later knob failed"
            result.after = next(r.after for r in restored.results if r.knob == result.knob)
    report.rolled_back = True
    return sorted(done)


def _restore_intents(intents: list[journal.Intent]) -> list[RestoreResult]:
    results = []
    for intent in reversed(intents):
        try:
            knob = get_knob(intent.knob)
        except PerflabError as error:
            results.append(RestoreResult(intent.knob, intent.before, None, None, "failed", error.message))
            continue
        current = read_or_none(knob)
        try:
            knob.restore(intent.saved)
        except PerflabError as error:
            results.append(
                RestoreResult(
                    intent.knob, intent.before, current, read_or_none(knob), "failed", error.message
                )
            )
            continue
        after = read_or_none(knob)
        if after != intent.before:
            results.append(
                RestoreResult(
                    intent.knob,
                    intent.before,
                    current,
                    after,
                    "failed",
                    f"wrote back {intent.before!r} but it reads {after!r}",
                )
            )
            continue
        note = ""
        if intent.after is not None and current is not None and current != intent.after:
            note = f"was changed by something else after perflab set {intent.after!r}"
        try:
            journal.append({"type": "restored", "txn": intent.txn, "knob": intent.knob})
        except journal.JournalWriteError as error:  # restored all the same; a later rollback rewrites it
            note = "; ".join(filter(None, [note, f"the journal could not record it: {error.message}"]))
        results.append(RestoreResult(intent.knob, intent.before, current, after, "restored", note))
    return results


def restore(target: ApplyReport | list[journal.Intent]) -> RollbackReport:
    """Put back the originals of one apply call (its report) or of the given journal intents."""
    with journal.locked():
        report = _restore_report(target)
        scan = journal.scan()
        if report.results and not journal.pending(scan.records) and not scan.damaged:
            journal.clear()
        return report


def _restore_report(target: ApplyReport | list[journal.Intent]) -> RollbackReport:
    if isinstance(target, ApplyReport):
        if target.txn is None:
            return RollbackReport(message="nothing was written")
        intents = [i for i in journal.pending() if i.txn == target.txn]
    else:
        intents = list(target)
    if intents:
        _check_root("restoring system tunings")
    return RollbackReport(results=_restore_intents(intents))


def rollback() -> RollbackReport:
    """Restore every original in the journal, newest first, also after a SIGKILL mid-apply.

    Entries from an earlier boot are not written: the kernel reset runtime values at reboot; the report
    says which knobs still differ from the journal's originals (e.g. set again by sysctl.conf)."""
    _check_root("rolling back system tunings")
    if not journal.exists():
        return RollbackReport(message="nothing to roll back: the journal is empty")
    with journal.locked():
        scan = journal.scan()
        intents, unknown = _known_intents(journal.pending(scan.records))
        current_boot = journal.boot_id()
        live = [i for i in intents if i.boot_id == current_boot]
        stale = [i for i in intents if i.boot_id != current_boot]
        report = RollbackReport(results=_restore_intents(live), unreadable=scan.damaged + unknown,
                                notes=list(scan.torn))
        if stale:
            report.rebooted = True
            differ = []
            for intent in stale:
                knob = get_knob(intent.knob)  # known: _known_intents filtered the others
                current = read_or_none(knob)
                status = "unchanged-since-reboot" if current == intent.before else "differs-since-reboot"
                if status == "differs-since-reboot":
                    differ.append(intent.knob)
                report.results.append(RestoreResult(intent.knob, intent.before, current, current, status))
                with contextlib.suppress(journal.JournalWriteError):  # a later rollback reports it again
                    journal.append({"type": "restored", "txn": intent.txn, "knob": intent.knob,
                                    "stale": True})
            report.message = (
                "the machine rebooted since these tunings were applied: the kernel already reset runtime "
                "values, nothing was written for them; "
                + (
                    f"still different from the originals: {', '.join(differ)}"
                    if differ
                    else "all match the journal's originals"
                )
            )
        left, _ = _known_intents(journal.pending())
        if left:
            if not report.message:
                report.message = ("some knobs could not be restored; the journal keeps them for another "
                                  "rollback")
        elif report.unreadable:
            kept = journal.set_aside()
            report.notes.append(f"the journal had lines that could not be read; everything readable was "
                                f"handled and the journal is kept for inspection at {kept}")
        else:
            journal.clear()
    if not report.results and not report.message and not report.unreadable:
        report.message = "nothing to roll back"
    return report


def _known_intents(intents: list[journal.Intent]) -> tuple[list[journal.Intent], list[str]]:
    """Split off intents naming a knob perflab does not know: it never journals one, so such a record
    is forged or damaged and is reported instead of failing every rollback."""
    from perflab.system.knobs import ALIASES, KNOBS

    known, unknown = [], []
    for intent in intents:
        if ALIASES.get(intent.knob, intent.knob) in KNOBS:
            known.append(intent)
        else:
            unknown.append(f"journal intent for unknown knob {intent.knob!r} (txn {intent.txn}): "
                           f"perflab never writes such a knob; ignored")
    return known, unknown


def problems() -> list[str]:
    """Journal lines that could not be read (damaged first, then torn records), one note each."""
    scan = journal.scan()
    _, unknown = _known_intents(journal.pending(scan.records))
    return scan.damaged + unknown + scan.torn


def status() -> list[StatusEntry]:
    """What perflab changed and has not put back, with whether each change is still in force."""
    current_boot = journal.boot_id()
    entries = []
    for intent in _known_intents(journal.pending())[0]:
        try:
            knob = get_knob(intent.knob)
            current = read_or_none(knob)
        except PerflabError:
            current = None
        wanted = intent.after if intent.after is not None else intent.wanted
        in_force = current is not None and current == wanted and current != intent.before
        entries.append(
            StatusEntry(
                intent.knob,
                intent.before,
                wanted,
                current,
                in_force,
                intent.label,
                intent.time,
                intent.boot_id != current_boot,
            )
        )
    return entries
