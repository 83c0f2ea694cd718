"""Measurements across experiments: two kept changes together (conflicts), and the cumulative gain.

Both are measured, never multiplied: the changes are applied to private checkouts of the baseline commit
and every arm runs interleaved in one session.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from perflab.analysis.decision import DecisionRule, InputSamples, decide
from perflab.errors import PerflabError
from perflab.fsutil import state_dir
from perflab.lab import checkout
from perflab.lab.experiment import Experiments, arm_samples, decision_dict, measure_arms
from perflab.lab.experiment_plan import plan_of
from perflab.store.method import ExperimentRow


def _patch_of(row: ExperimentRow) -> str:
    cand = row.record.get("candidate")
    if not cand or cand["mode"] not in ("rev", "tree") or cand.get("patch") is None:
        raise PerflabError(
            f"experiment {row.id} has no code change to apply (its candidate is "
            f"{'a command' if cand else 'not measured'}); combine needs --rev or tree candidates"
        )
    return cand["patch"]


def _weighted_log_median(samples: dict[str, list[float]], weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(w * np.log(np.median(samples[n])) for n, w in weights.items()) / total


def combine(experiments: Experiments, a_id: int, b_id: int, rule: DecisionRule) -> dict[str, Any]:
    """Measure A alone, B alone and A+B on the shared baseline commit; a conflict when A+B is
    significantly worse than the better of the two alone."""
    a, b = experiments.records.experiment(a_id), experiments.records.experiment(b_id)
    git_a, git_b = a.record.get("git"), b.record.get("git")
    if not git_a or not git_b or git_a["commit"] != git_b["commit"]:
        raise PerflabError(
            f"experiments {a_id} and {b_id} must share one clean baseline commit to be combined"
        )
    if git_a["dirty"]:
        raise PerflabError(f"experiment {a_id}'s baseline was measured on a dirty tree: nothing to apply on")
    patch_a, patch_b = _patch_of(a), _patch_of(b)
    plan = plan_of(a.record)
    root, commit = Path(git_a["root"]), git_a["commit"]
    rel = Path(plan.cwd).resolve().relative_to(root.resolve()) if Path(plan.cwd).is_absolute() else Path(".")
    arms = []
    with ExitStack() as stack:
        for arm, patches in ((f"#{a_id}", [patch_a]), (f"#{b_id}", [patch_b]), ("both", [patch_a, patch_b])):
            tree = stack.enter_context(
                checkout.private_checkout(root, commit, state_dir() / "checkouts", patches)
            )
            checkout.run_build(plan.build, tree)
            arms.append((arm, plan.command, tree / rel))
        experiments.observe(f"combining experiments {a_id} and {b_id}: 3 arms interleaved")
        outcome = measure_arms(experiments.store, arms, plan, plan.inputs)
    weights = {i.name: i.weight for i in plan.inputs}
    alone = {arm: arm_samples(outcome.benchmark, arm) for arm in (f"#{a_id}", f"#{b_id}")}
    sign = -1.0 if rule.higher_is_better else 1.0
    better = min(alone, key=lambda arm: sign * _weighted_log_median(alone[arm], weights))
    both = arm_samples(outcome.benchmark, "both")
    decision = decide(
        [InputSamples(i.name, alone[better][i.name], both[i.name], i.weight) for i in plan.inputs],
        rule,
        seed=plan.seed,
    )
    conflict = decision.gain_ci[1] < 0.0
    return {
        "benchmark_id": outcome.bench_id,
        "better_alone": better,
        "both_vs_better": decision_dict(decision),
        "conflict": conflict,
        "summary": (
            f"conflict: A+B is significantly worse than {better} alone"
            if conflict
            else f"no conflict: A+B vs {better} alone {decision.gain * 100:+.1f} % "
            f"[{decision.gain_ci[0] * 100:+.1f}, {decision.gain_ci[1] * 100:+.1f}]"
        ),
    }


def measure_cumulative(experiments: Experiments, rule: DecisionRule) -> dict[str, Any]:
    """The first experiment's baseline commit against the current tree, interleaved, on its inputs."""
    rows = experiments.records.experiments()
    if not rows:
        raise PerflabError("no experiments yet: nothing to measure a cumulative gain against")
    first = rows[0]
    git, plan = first.record.get("git"), plan_of(first.record)
    if not git or git["dirty"]:
        raise PerflabError(
            f"experiment {first.id}'s baseline was not measured on a clean git commit, so it "
            "cannot run again; the cumulative gain cannot be measured"
        )
    root = Path(git["root"])
    with ExitStack() as stack:
        tree = stack.enter_context(
            checkout.private_checkout(root, git["commit"], state_dir() / "checkouts")
        )
        checkout.run_build(plan.build, tree)
        rel = Path(plan.cwd).resolve().relative_to(root.resolve())
        arms = [("baseline", plan.command, tree / rel), ("candidate", plan.command, Path(plan.cwd))]
        experiments.observe("measuring the first baseline against the current tree, interleaved")
        outcome = measure_arms(experiments.store, arms, plan, plan.inputs)
    base, now = arm_samples(outcome.benchmark, "baseline"), arm_samples(outcome.benchmark, "candidate")
    decision = decide(
        [InputSamples(i.name, base[i.name], now[i.name], i.weight) for i in plan.inputs], rule, seed=plan.seed
    )
    result = decision_dict(decision)
    result["benchmark_id"] = outcome.bench_id
    return result
