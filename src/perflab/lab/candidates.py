"""What ``tune try`` compares: candidates from ``--knob NAME=V1,V2`` or a profile, checked against this
machine before anything is measured."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perflab.errors import PerflabError

BASELINE = "baseline"


@dataclass(frozen=True)
class Candidate:
    """A named set of knob → value settings to try."""

    label: str
    settings: dict[str, str]


def candidates_from_knobs(specs: Sequence[str]) -> list[Candidate]:
    """``--knob NAME=V1,V2`` (repeatable): one candidate per value, the product over several knobs.

    Every value is checked against the knob before anything runs (unknown knob, malformed value, a value
    this kernel does not offer)."""
    from perflab.system.knobs import get_knob, parse_spec

    axes: list[tuple[str, list[str]]] = []
    for spec in specs:
        name, eq, values_text = spec.partition("=")
        name = name.strip()
        if not eq or not name or not values_text.strip():
            raise PerflabError(f"--knob {spec!r}: expected NAME=VALUE[,VALUE…], "
                               "e.g. net.ipv4.tcp_congestion_control=cubic,bbr")
        knob = get_knob(name)
        values = [v.strip() for v in values_text.split(",")]
        if any(not v for v in values):
            raise PerflabError(f"--knob {spec!r}: empty value in the comma-separated list")
        for value in values:
            for alt in parse_spec(knob, value):
                why = knob.check_value(alt.value) if alt.op == "=" else None
                if why:
                    raise PerflabError(f"--knob {name}={value}: {why}")
        if name in (n for n, _ in axes):
            raise PerflabError(f"--knob {name} given twice (list its values comma-separated in one --knob)")
        axes.append((name, list(dict.fromkeys(values))))
    if not axes:
        raise PerflabError("no candidate: give a PROFILE or --knob NAME=VALUE[,VALUE…]")
    out = []
    for combo in itertools.product(*(values for _, values in axes)):
        settings = {name: value for (name, _), value in zip(axes, combo, strict=True)}
        label = combo[0] if len(combo) == 1 else ",".join(f"{n.rsplit('.', 1)[-1]}={v}"
                                                          for n, v in settings.items())
        out.append(Candidate(label, settings))
    return out


def candidate_from_profile(name_or_path: str) -> Candidate:
    from pathlib import Path

    from perflab.system.profiles import load_profile

    profile = load_profile(name_or_path)
    if not profile.settings:
        raise PerflabError(f"profile {name_or_path!r} sets no knob: nothing to try")
    label = profile.name or Path(name_or_path).stem
    if label == BASELINE:
        label = f"profile:{label}"
    return Candidate(label, dict(profile.settings))


def preflight(candidates: Sequence[Candidate]) -> tuple[list[Candidate], dict[str, dict[str, str]]]:
    """Dry-run every candidate: knobs this machine cannot take (no cpufreq in a VM, a qdisc that is not
    built) are dropped with their reason, so a profile is tried for what it can change here."""
    from perflab.system.apply import apply_settings

    kept, dropped = [], {}
    for candidate in candidates:
        dry = apply_settings(candidate.settings, dry_run=True, label=f"tune-try:{candidate.label}")
        gone = {r.knob: r.reason for r in dry.results if r.status == "not-applicable"}
        settings = {k: v for k, v in candidate.settings.items() if k not in gone}
        if not settings:
            raise PerflabError(f"candidate {candidate.label!r}: no knob can be changed here: " + "; ".join(
                f"{k}: {why}" for k, why in gone.items()))
        if gone:
            dropped[candidate.label] = gone
        kept.append(Candidate(candidate.label, settings))
    return kept, dropped


def apply_candidate(candidate: Candidate, label: str = "tune-try") -> Any:
    """Apply through the journal and insist that every knob is in force (read back), else undo and raise."""
    from perflab.system.apply import apply_settings, restore

    report = apply_settings(candidate.settings, label=f"{label}:{candidate.label}")
    bad = [r for r in report.results if r.status not in ("applied", "unchanged")]
    if bad:
        restore(report)
        raise PerflabError(f"candidate {candidate.label!r} cannot be applied here: " + "; ".join(
            f"{r.knob}={r.wanted}: {r.status}{': ' + r.reason if r.reason else ''}" for r in bad))
    return report


def restore_candidate(report: Any, originals: dict[str, str | None]) -> None:
    """Put back one candidate's changes and check every knob reads its original again."""
    from perflab.system.apply import restore
    from perflab.system.knobs import read_values

    result = restore(report)
    problems = [f"{r.knob}: {r.reason or r.status}" for r in result.results if r.status != "restored"]
    for name, now in read_values(list(originals)).items():
        if originals[name] is not None and now != originals[name]:
            problems.append(f"{name} reads {now!r}, original {originals[name]!r}")
    if problems:
        raise PerflabError("could not restore the original settings (" + "; ".join(problems)
                           + "); run `perflab system rollback`")
