"""An experiment written out as Markdown, and the tracker of a whole effort (baseline → experiments → kept).

Everything here reads what the store holds; the figures come from ``analysis`` and ``stats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perflab.lab.experiment import arm_samples
from perflab.lab.experiment_plan import plan_of
from perflab.store.method import ExperimentRow, MethodRecords

DIMINISHING = 0.01  # three experiments in a row gaining less than this → "diminishing returns"


def _md(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:+.1f} %"


def _gain(d: dict[str, Any] | None) -> str:
    if not d or d.get("gain") is None:
        return "not decided"
    lo, hi = d["gain_ci"]
    return f"{_pct(d['gain'])} [{_pct(lo)}, {_pct(hi)}]"


def _seconds(x: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(x) >= scale:
            return f"{x / scale:.4g} {unit}"
    return f"{x / 1e-9:.4g} ns"


def _median_row(name: str, values: list[float], extra: str = "") -> str:
    from perflab.stats.bootstrap import median_ci
    from perflab.stats.summary import summarize

    if len(values) < 3:
        return f"| {_md(name)} | {len(values)} | too few runs for a CI |{extra}"
    lo, hi = median_ci(values)
    s = summarize(values)
    return f"| {_md(name)} | {len(values)} | {_seconds(s.median)} [{_seconds(lo)}, {_seconds(hi)}] |{extra}"


def experiment_markdown(records: MethodRecords, row: ExperimentRow) -> str:
    """The experiment log: hypothesis, environment, inputs, tables, per-input results, decision, check."""
    rec, plan = row.record, plan_of(row.record)
    idea = records.idea(row.idea_id)
    lines = [
        f"# Experiment {row.id}: {_md(idea.title)}",
        "",
        f"State: **{row.state}**" + (f", verdict **{row.verdict}**" if row.verdict else ""),
        f"Started {row.created_at}, last change {row.updated_at}.",
        "",
        "## Hypothesis",
        "",
        _md(idea.title) + (f" — {_md(idea.note)}" if idea.note else ""),
        "",
        "## Environment",
        "",
    ]
    git = rec.get("git")
    lines.append(
        f"- git: {git['commit'][:12]} on {git['branch'] or '(detached)'}"
        f"{', dirty' if git['dirty'] else ', clean'}"
        if git
        else "- git: not a git work tree"
    )
    base = rec.get("baseline")
    if base:
        env = records.store.get(base["benchmark_id"]).environment
        cpu = env.get("cpu", {}) if isinstance(env.get("cpu"), dict) else {}
        lines.append(
            f"- machine: {_md(cpu.get('model') or env.get('cpu_model') or 'unknown CPU')}, "
            f"kernel {_md(env.get('kernel') or env.get('kernel_release') or 'unknown')}"
        )
    lines += [
        f"- command: `{_md(' '.join(plan.command))}`",
        f"- runs per input: {plan.runs} (+{plan.warmup} warm-up)",
        "",
        "## Inputs",
        "",
        "| Input | Value | Weight |",
        "|---|---|---:|",
    ]
    lines += [f"| {_md(i.name)} | `{_md(i.value)}` | {i.weight:g} |" for i in plan.inputs]
    if rec.get("single_input"):
        lines.append(f"\nFewer inputs than the method asks for, accepted because: {_md(rec['single_input'])}")
    if base:
        bench = records.store.get(base["benchmark_id"])
        lines += [
            "",
            f"## Baseline (result {base['benchmark_id']})",
            "",
            "| Input | n | Median wall time [95 % CI] | CV |",
            "|---|---:|---|---:|",
        ]
        for name, values in arm_samples(bench, "baseline").items():
            cv = base["cv"].get(name)
            lines.append(_median_row(name, values, f" {cv:.1%} |" if cv == cv else " n/a |"))
        if rec.get("accept_noisy"):
            lines.append(f"\nNoise above {plan.max_cv:.0%} accepted because: {_md(rec['accept_noisy'])}")
    cand = rec.get("candidate")
    if cand:
        bench = records.store.get(cand["benchmark_id"])
        what = {
            "command": f"command `{_md(' '.join(cand['command']))}`",
            "rev": f"revision {cand['rev']}",
            "tree": "the working tree",
        }[cand["mode"]]
        lines += [
            "",
            f"## Candidate: {what} (result {cand['benchmark_id']})",
            "",
            (
                "Measured interleaved with the baseline in one session."
                if cand["interleaved"]
                else f"**Warning:** {cand['warning']}."
            ),
            "",
        ]
        if cand.get("diff_hash"):
            lines.append(f"Diff against the baseline commit: sha256 {cand['diff_hash'][:16]}…")
        lines += ["", "| Arm: input | n | Median wall time [95 % CI] |", "|---|---:|---|"]
        for arm in ("baseline", "candidate"):
            for name, values in arm_samples(bench, arm).items():
                lines.append(_median_row(f"{arm}: {name}", values))
    decision = rec.get("decision")
    if decision:
        rule = decision["rule"]
        lines += [
            "",
            "## Per-input results",
            "",
            "| Input | Weight | Gain [95 % CI] | Holm p | Regressed |",
            "|---|---:|---|---:|---|",
        ]
        for e in decision["inputs"]:
            lines.append(
                f"| {_md(e['name'])} | {e['weight']:g} | {_pct(e['gain'])} [{_pct(e['gain_ci'][0])}, "
                f"{_pct(e['gain_ci'][1])}] | {e['p_holm']:.3g} | {'yes' if e['regressed'] else 'no'} |"
            )
        lines += [
            "",
            "## Decision",
            "",
            f"**{decision['verdict']}** — {_md(decision['reason'])}",
            "",
            f"Rule (docs/method.md): KEEP at a significant weighted gain ≥ {rule['threshold']:.0%}, MAYBE ≥ "
            f"{rule['maybe']:.0%}, DISCARD when an input regresses significantly beyond "
            f"{rule['max_regression']:.0%} (Mann–Whitney, Holm, α = {rule['alpha']:g}) or the gain is "
            f"below {rule['maybe']:.0%}; {rule['confidence']:.0%} bootstrap CI of the weighted "
            "geometric-mean gain.",
        ]
    if cand and cand.get("check"):
        check = cand["check"]
        lines += [
            "",
            "## Correctness check",
            "",
            f"`{_md(check['command'])}`: **{'passed' if check['passed'] else 'FAILED'}**",
            "",
        ]
        for r in check["runs"]:
            tail = r["output_tail"].strip().splitlines()[-1:] or [""]
            lines.append(
                f"- {_md(r['input'])}: exit {r['exit_code']}" + (f" — `{_md(tail[0])}`" if tail[0] else "")
            )
    if rec.get("attempts"):
        lines += [
            "",
            "## Notes",
            "",
            f"{len(rec['attempts'])} earlier candidate(s) were measured and replaced.",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class TrackerRow:
    exp_id: int
    idea_id: int
    idea: str
    verdict: str | None
    gain: float | None
    gain_ci: tuple[float, float] | None
    interleaved: bool | None


def tracker_rows(records: MethodRecords) -> list[TrackerRow]:
    ideas = {i.id: i for i in records.ideas()}
    rows = []
    for e in records.experiments():
        d = e.record.get("decision")
        rows.append(
            TrackerRow(
                e.id,
                e.idea_id,
                ideas[e.idea_id].title,
                e.verdict,
                d["gain"] if d else None,
                tuple(d["gain_ci"]) if d else None,
                d.get("interleaved") if d else None,
            )
        )
    return rows


def diminishing_returns(rows: list[TrackerRow]) -> bool:
    decided = [r for r in rows if r.gain is not None]
    return len(decided) >= 3 and all(r.gain < DIMINISHING for r in decided[-3:])


def tracker_markdown(records: MethodRecords, cumulative: dict[str, Any] | None) -> str:
    rows = tracker_rows(records)
    first = records.experiments()[0] if rows else None
    out = ["# Performance tracker", ""]
    if first is None:
        return "\n".join(out + ["No experiments yet (perflab exp start IDEA).", ""])
    git = first.record.get("git") or {}
    where = f"commit {git['commit'][:12]}" if git else "not in a git work tree"
    out += [
        f"Baseline: experiment {first.id}'s ({where}), {first.created_at}.",
        "",
        "| # | Idea | Δ gain [95 % CI] | Verdict |",
        "|---:|---|---|---|",
    ]
    for r in rows:
        gain = (
            "not decided"
            if r.gain is None
            else f"{_pct(r.gain)} [{_pct(r.gain_ci[0])}, {_pct(r.gain_ci[1])}]"
        )
        out.append(f"| {r.exp_id} | {_md(r.idea)} | {gain} | {r.verdict or r'—'} |")
    kept = [r for r in rows if r.verdict == "KEEP"]
    out.append("")
    if cumulative:
        out.append(
            f"Cumulative gain of what was kept ({len(kept)} change(s)), measured: "
            f"{_gain(cumulative)} ({cumulative['verdict']}; first baseline vs the current tree, "
            "interleaved)."
        )
    else:
        out.append(
            f"Cumulative gain of what was kept ({len(kept)} change(s)): not measured — run "
            "`perflab tracker --measure` (multiplying the per-experiment gains would be a guess)."
        )
    if diminishing_returns(rows):
        out.append(
            f"Diminishing returns: each of the last three experiments gained less than {DIMINISHING:.0%}."
        )
    return "\n".join(out) + "\n"
