"""From raw runs to what a reader needs: summaries with uncertainty, verdicts, warnings.

The output is a plain JSON-friendly dict (NaN becomes ``None`` with a note saying why), stored with the
benchmark so ``perflab show`` prints exactly what ``perflab bench`` printed, and re-computable from the
raw runs at any time with other settings.
"""

from __future__ import annotations

import math
from typing import Any

from perflab.analysis.samples import WALL, completed_runs, failed_only, metric_direction, samples, valid_runs
from perflab.analysis.warnings import command_warnings, environment_warnings
from perflab.stats.compare import Comparison, compare_many
from perflab.stats.summary import Summary, summarize
from perflab.store.model import Benchmark, CommandResult

__all__ = ["WALL", "analyze", "compare_benchmarks", "compare_commands", "comparison_to_dict", "samples",
           "stored_or_fresh", "summary_to_dict", "valid_runs"]

#: resamples for the mean's CI of the secondary figures (user, sys, peak RSS); their median's CI comes
#: from order statistics. Wall time and custom metrics, which are compared, keep the full bootstrap.
SECONDARY_N_BOOT = 1000
SECONDARY_CI = {"median_ci": "order statistics (distribution-free)",
                "mean_ci": f"percentile bootstrap, {SECONDARY_N_BOOT} resamples"}


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def summary_to_dict(s: Summary) -> dict[str, Any]:
    """A stats Summary as JSON (NaN → None; the notes say why)."""
    return {
        "n": s.n,
        "mean": _num(s.mean),
        "stddev": _num(s.stddev),
        "median": _num(s.median),
        "mad": _num(s.mad),
        "min": _num(s.min),
        "max": _num(s.max),
        "p50": _num(s.p50),
        "p90": _num(s.p90),
        "p99": _num(s.p99),
        "cv": _num(s.cv),
        "median_ci": [_num(s.median_ci[0]), _num(s.median_ci[1])],
        "mean_ci": [_num(s.mean_ci[0]), _num(s.mean_ci[1])],
        "confidence": s.confidence,
        "outliers": {
            "modified_z": list(s.outliers.modified_z),
            "tukey_mild": list(s.outliers.tukey_mild),
            "tukey_severe": list(s.outliers.tukey_severe),
            "count": s.outliers.count,
        },
        "notes": list(s.notes),
    }


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    return {
        "ratio": _num(c.ratio),
        "ratio_ci": [_num(c.ratio_ci[0]), _num(c.ratio_ci[1])],
        "p_value": _num(c.p_value),
        "p_adjusted": _num(c.p_adjusted),
        "verdict": c.verdict,
        "reason": c.reason,
        "n_baseline": c.n_baseline,
        "n_candidate": c.n_candidate,
        "higher_is_better": c.higher_is_better,
        "alpha": c.alpha,
        "noise": c.noise,
        "confidence": c.confidence,
    }


def _summaries(command: CommandResult, per_run_cpu: bool, confidence: float, n_boot: int,
               seed: int | None) -> tuple[dict[str, Any], Summary]:
    def summ(values: list[float]) -> Summary:
        return summarize(values, confidence=confidence, n_boot=n_boot, seed=seed)

    def secondary(values: list[float]) -> dict[str, Any]:
        """Cheaper intervals for figures that are shown but never compared (~3 ms instead of ~20 ms)."""
        s = summarize(values, confidence=confidence, n_boot=min(n_boot, SECONDARY_N_BOOT), seed=seed,
                      median_ci_method="order")
        return {**summary_to_dict(s), "ci_method": dict(SECONDARY_CI)}

    wall = summ(samples(command, WALL))
    out: dict[str, Any] = {"wall": summary_to_dict(wall)}
    for name in ("user", "sys"):
        values = samples(command, name)
        if per_run_cpu:
            out[name] = secondary(values)
        else:
            out[name] = {"mean": _num(sum(values) / len(values)) if values else None,
                         "note": "only the mean is known (imported from hyperfine): no spread or CI"}
    rss = samples(command, "peak_rss")
    if rss:
        out["peak_rss"] = secondary(rss)
    else:
        out["peak_rss"] = {"note": command.memory_note or "peak memory was not measured"}
    out["metrics"] = {}
    for spec in command.metrics:
        values = samples(command, spec.name)
        entry: dict[str, Any] = {"unit": spec.unit, "higher_is_better": spec.higher_is_better}
        if values:
            entry["summary"] = summary_to_dict(summ(values))
            missing = len(valid_runs(command)) - len(values)
            if missing:
                entry["note"] = (f"{missing} run(s) printed no match for {spec.regex!r}" if spec.regex
                                 else f"counted in {len(values)} of the {len(values) + missing} runs")
        else:
            entry["note"] = (f"no run printed a match for {spec.regex!r}" if spec.regex
                             else "no run has a value")
        out["metrics"][spec.name] = entry
    return out, wall


Pair = tuple[CommandResult, CommandResult, str]


def _pairs(benchmark: Benchmark, baseline: Benchmark | None, *, force: bool = True) -> list[Pair]:
    """(baseline command, candidate command, label) pairs to compare."""
    cmds = benchmark.commands
    if baseline is None:
        return [(cmds[0], c, "first command") for c in cmds[1:]]
    label = f"baseline {baseline.id if baseline.id is not None else ''}".strip()
    matched, unmatched = match_commands(baseline.commands, cmds, force=force)
    return [(ref, c, label if not forced else FORCED) for ref, c, forced in matched]


FORCED = "forced: a different command"


def match_commands(a: list[CommandResult], b: list[CommandResult], *, force: bool
                   ) -> tuple[list[tuple[CommandResult, CommandResult, bool]], list[CommandResult]]:
    """Pair each of B's commands with A's of the same name, else the same command line. With ``force``,
    the rest pair by position (or with A's only command), flagged as forced; without, they are returned
    unmatched: comparing two different commands silently would report a speed-up that is not one."""
    by_name = {c.name: c for c in a}
    by_cmd = {c.command: c for c in a}
    pairs, unmatched = [], []
    for i, c in enumerate(b):
        ref = by_name.get(c.name) or by_cmd.get(c.command)
        if ref is not None:
            pairs.append((ref, c, False))
        elif force and (len(a) == len(b) or len(a) == 1):
            pairs.append((a[i] if len(a) == len(b) else a[0], c, True))
        else:
            unmatched.append(c)
    return pairs, unmatched


def compare_commands(
    pairs: list[tuple[CommandResult, CommandResult, str]],
    *,
    metrics: list[str] | None = None,
    alpha: float = 0.05,
    noise: float = 0.01,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """Compare each pair on wall time and every metric both sides have; one Holm family for all."""
    jobs: list[tuple[CommandResult, CommandResult, str, str]] = []
    pair_of: list[int] = []
    for k, (base, cand, label) in enumerate(pairs):
        names = metrics if metrics is not None else [WALL] + [
            m.name for m in cand.metrics if any(b.name == m.name for b in base.metrics)
        ]
        for metric in names:
            jobs.append((base, cand, label, metric))
            pair_of.append(k)
    if not jobs:
        return []
    results = compare_many(
        [(samples(b, m), samples(c, m)) for b, c, _, m in jobs],
        alpha=alpha, noise=noise, confidence=confidence, n_boot=n_boot, seed=seed,
        higher_is_better=[metric_direction(c, m) for _, c, _, m in jobs],
    )  # fmt: skip
    out = []
    for (base, cand, label, metric), k, result in zip(jobs, pair_of, results, strict=True):
        unit = "s" if metric == WALL else next((s.unit for s in cand.metrics if s.name == metric), "")
        out.append({
            "metric": metric, "unit": unit, "baseline": base.name, "candidate": cand.name,
            "against": label, "pair": k, "family_size": len(jobs), **comparison_to_dict(result),
        })  # fmt: skip
    return out


def run_outcomes(command: CommandResult) -> dict[str, Any]:
    """How a command's runs ended, and how many the statistics leave out."""
    failed = [r for r in completed_runs(command) if r.exit_code != 0]
    codes: dict[str, int] = {}
    for r in failed:
        codes[str(r.exit_code)] = codes.get(str(r.exit_code), 0) + 1
    return {"failed_runs": len(failed), "failed_exit_codes": codes,
            "timed_out_runs": sum(r.timed_out for r in command.runs),
            "excluded_runs": len(command.runs) - len(valid_runs(command)),
            "statistics_of": "failed runs (none succeeded)" if failed_only(command) else "successful runs"}


def exclusion_warnings(command: CommandResult) -> list[str]:
    """Say which runs the statistics leave out, and why."""
    out = []
    cut = len(command.runs) - len(completed_runs(command))
    if cut:
        out.append(f"{cut} run(s) timed out or were killed and are left out of the statistics")
    failed = [r for r in completed_runs(command) if r.exit_code != 0]
    codes = ", ".join(f"{code}×{n}" for code, n in sorted(run_outcomes(command)["failed_exit_codes"].items()))
    if failed and failed_only(command):
        out.append(f"no run succeeded (exit codes {codes}): the statistics are of these failed runs")
    elif failed:
        out.append(f"{len(failed)} run(s) failed (exit codes {codes}) and are left out of the statistics, "
                   f"which describe the {len(valid_runs(command))} successful run(s)")
    return out


def analyze(
    benchmark: Benchmark,
    *,
    alpha: float = 0.05,
    noise: float = 0.01,
    baseline: Benchmark | None = None,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = None,
) -> dict[str, Any]:
    """Summaries of every command, comparisons (vs the first command or ``baseline``), warnings."""
    per_run_cpu = benchmark.settings.get("per_run_cpu_times", True) is not False
    commands = []
    for c in benchmark.commands:
        stats, wall = _summaries(c, per_run_cpu, confidence, n_boot, seed)
        commands.append({
            "name": c.name, "command": c.command, "parameters": c.parameters,
            "runs": len(c.runs), "warmup_runs": c.warmup_runs, **run_outcomes(c), **stats,
            "warnings": command_warnings(c, wall) + exclusion_warnings(c),
        })  # fmt: skip
    pairs = _pairs(benchmark, baseline)
    comparisons = compare_commands(
        pairs, alpha=alpha, noise=noise, confidence=confidence, n_boot=n_boot, seed=seed
    )
    for c in comparisons:  # names may repeat (A/A runs); the index says which command it was
        cand = pairs[c["pair"]][1]
        c["candidate_index"] = next(i for i, cmd in enumerate(benchmark.commands) if cmd is cand)
    result: dict[str, Any] = {
        "alpha": alpha,
        "noise": noise,
        "confidence": confidence,
        "reference": "first command" if baseline is None else {"baseline_id": baseline.id},
        "commands": commands,
        "comparisons": comparisons,
        "warnings": environment_warnings(benchmark.environment),
    }
    if benchmark.status != "complete":
        why = benchmark.message or "no reason recorded"
        result["warnings"].insert(0, f"benchmark {benchmark.status}: {why}")
    if not benchmark.environment:
        result["warnings"].append("no environment was captured with this result")
    label = benchmark.settings.get("label")
    if isinstance(label, str) and "emulated" in label:  # a VM under TCG (perflab vm, a suite's vm variants)
        what = "compared on" if comparisons else "measured on"
        reason = benchmark.settings.get("accel_reason")
        result["label"] = label
        why = f" ({reason})" if reason else ""
        result["warnings"].insert(0, f"{label}: {what} emulated execution{why}")
    return result


def stored_or_fresh(benchmark: Benchmark) -> dict[str, Any]:
    """The analysis stored with the benchmark, else one computed now from its raw runs (an imported or
    older result may carry none)."""
    return benchmark.analysis if benchmark.analysis.get("commands") else analyze(benchmark)


def compare_benchmarks(
    a: Benchmark,
    b: Benchmark,
    *,
    metric: str | None = None,
    alpha: float = 0.05,
    noise: float = 0.01,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """``perflab compare A B``: B's commands against A's of the same name or command line. A command of
    B that matches none is refused, unless ``force``, which pairs by position and labels it."""
    from perflab.errors import PerflabError

    matched, unmatched = match_commands(a.commands, b.commands, force=force)
    if unmatched or not matched:
        names = ", ".join(repr(c.name) for c in unmatched or b.commands)
        raise PerflabError(
            f"B's {names} match no command of A by name or command line (A: "
            f"{', '.join(repr(c.name) for c in a.commands)}): refusing to compare different commands; "
            "--force pairs them by position and labels the result")
    label_a, label_b = _label(a, "A"), _label(b, "B")
    pairs = [(x, y, label_a) for x, y, _ in matched]
    if metric is not None and metric not in (WALL, "user", "sys", "peak_rss"):
        missing = [y.name for _, y, _ in pairs if not samples(y, metric)]
        if len(missing) == len(pairs):
            raise PerflabError(f"metric {metric!r} was not recorded for {', '.join(missing)}")
    comparisons = compare_commands(
        pairs, metrics=[metric] if metric else None, alpha=alpha, noise=noise,
        confidence=confidence, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    for c in comparisons:
        forced = matched[c["pair"]][2]
        c["baseline"] = f"{c['baseline']} (A)"
        c["candidate"] = f"{c['candidate']} (B)"
        c["against"] = FORCED if forced else None
        c["forced"] = forced
    return {
        "a": {"id": a.id, "label": label_a, "created_at": a.created_at,
              "source": a.settings.get("source")},
        "b": {"id": b.id, "label": label_b,
              "created_at": b.created_at, "source": b.settings.get("source")},
        "alpha": alpha,
        "noise": noise,
        "comparisons": comparisons,
        "warnings": sorted(set(environment_warnings(a.environment) + environment_warnings(b.environment))),
    }


def _label(benchmark: Benchmark, side: str) -> str:
    """How a side is named in ``compare``: its id, else its file, else that it was never saved."""
    if benchmark.id is not None:
        return f"#{benchmark.id}"
    source = benchmark.settings.get("source")
    return f"file {source}" if source else f"unsaved result {side}"
