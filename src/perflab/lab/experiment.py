"""Experiments: baseline first, then a candidate measured against it, then one documented decision.

States (each written in its own transaction, so a kill leaves the last one and ``perflab exp resume``
repeats the step that was under way):

    baseline-running → baseline → candidate-running → measured → decided

A candidate is a command (``-- CMD``), a git revision (``--rev``) or the current tree. Where the baseline
can still run — always for a command; for a revision or the tree when the baseline commit was clean — the
baseline and the candidate run interleaved in one session, so drift hits both alike. Otherwise the
candidate is compared with the stored baseline and the record says that drift was not cancelled.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from perflab.analysis.decision import Decision, DecisionRule, InputSamples, decide
from perflab.errors import PerflabError
from perflab.fsutil import state_dir
from perflab.lab import checkout
from perflab.lab.experiment_plan import (
    InputSpec,
    Plan,
    coefficient_of_variation,
    plan_of,
    run_check,
    substitute,
)
from perflab.store.method import MethodRecords

STATES = ("baseline-running", "baseline", "candidate-running", "measured", "decided")
IDEA_STATUS = {
    "KEEP": "kept",
    "MAYBE": "maybe",
    "DISCARD": "discarded",
    "REJECT": "discarded",
    "KILL": "discarded",
    "INCONCLUSIVE": "benching",
}
DRIFT_WARNING = (
    "the baseline could not run again, so the candidate is compared with the stored baseline "
    "of an earlier session: drift between the two sessions is not cancelled"
)


@dataclass
class Candidate:
    """One measured candidate of an experiment."""

    mode: str  # command | rev | tree
    command: list[str]
    rev: str | None = None
    benchmark_id: int | None = None
    interleaved: bool = False
    warning: str | None = None
    diff_hash: str | None = None
    patch: str | None = None
    check: dict[str, Any] = field(default_factory=dict)
    killed: str | None = None


Observer = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


def _in_dir(argv: list[str], where: Path | None) -> list[str]:
    return argv if where is None else ["env", "-C", str(where), *argv]


def measure_arms(
    store: Any,
    arms: list[tuple[str, list[str], Path | None]],
    plan: Plan,
    inputs: list[InputSpec],
    timeout_s: float | None = None,
) -> Any:
    """One interleaved session over every arm × input; stored as kind 'experiment'."""
    from perflab.bench.commands import Command
    from perflab.bench.options import BenchOptions
    from perflab.bench.scheduler import RunCount
    from perflab.lab.bench_session import BenchRequest, BenchSession

    commands = []
    for arm, template, where in arms:
        for spec in inputs:
            argv = _in_dir(substitute(template, input=spec.value), where or Path(plan.cwd))
            commands.append(
                Command(
                    name=f"{arm}:{spec.name}",
                    command=shlex.join(argv),
                    argv=argv,
                    parameters={"arm": arm, "input": spec.name},
                )
            )
    options = BenchOptions(
        count=RunCount(runs=plan.runs),
        warmup=plan.warmup,
        seed=plan.seed,
        timeout_s=timeout_s,
        ignore_failure=timeout_s is not None,
    )
    session = BenchSession(BenchRequest(commands, options), store)
    bench = session.measure()
    bench.kind = "experiment"
    outcome = session.conclude()
    if outcome.benchmark.status == "failed":
        raise PerflabError(
            f"the measurement failed (stored as result {outcome.bench_id}): {outcome.benchmark.message}"
        )
    if outcome.benchmark.status == "interrupted":
        raise KeyboardInterrupt
    return outcome


def arm_samples(benchmark: Any, arm: str) -> dict[str, list[float]]:
    """Wall times of one arm, per input name."""
    from perflab.analysis.samples import samples

    return {c.parameters["input"]: samples(c) for c in benchmark.commands if c.parameters.get("arm") == arm}


class Experiments:
    """The experiment use cases over one store."""

    def __init__(self, records: MethodRecords, observe: Observer = _quiet) -> None:
        self.records = records
        self.store = records.store
        self.observe = observe

    # -- baseline -------------------------------------------------------------------------------------

    def start(
        self, idea_id: int, plan: Plan, *, accept_noisy: str | None = None, single_input: str | None = None
    ) -> int:
        """Measure the baseline on every input; refuse too few inputs or a noisy input unless told why."""
        idea = self.records.idea(idea_id)
        if not plan.inputs:
            raise PerflabError("an experiment needs inputs (--inputs A,B,C): one input proves little")
        if len(plan.inputs) < plan.min_inputs and not single_input:
            raise PerflabError(
                f"{len(plan.inputs)} input(s) but the method asks for at least {plan.min_inputs}: "
                "add inputs, or say why not with --single-input REASON"
            )
        if plan.runs < 10:
            raise PerflabError(f"--runs {plan.runs}: the method needs at least 10 runs per input")
        if "{input}" not in " ".join(plan.command):
            raise PerflabError("the command must use {input} (each input is substituted there)")
        git = checkout.git_state(Path(plan.cwd))
        record = {
            "hypothesis": idea.title,
            "note": idea.note,
            "plan": asdict(plan),
            "git": git,
            "accept_noisy": accept_noisy,
            "single_input": single_input,
            "attempts": [],
        }
        exp_id = self.records.add_experiment(idea_id, "baseline-running", record)
        self.records.set_status(idea_id, "benching", f"experiment {exp_id}: baseline")
        self._measure_baseline(exp_id)
        return exp_id

    def _measure_baseline(self, exp_id: int) -> None:
        row = self.records.experiment(exp_id)
        record, plan = row.record, plan_of(row.record)
        self.observe(f"experiment {exp_id}: measuring the baseline on {len(plan.inputs)} input(s)")
        outcome = measure_arms(self.store, [("baseline", plan.command, None)], plan, plan.inputs)
        samples = arm_samples(outcome.benchmark, "baseline")
        cvs = {name: coefficient_of_variation(values) for name, values in samples.items()}
        medians = {name: _median(values) for name, values in samples.items()}
        record["baseline"] = {"benchmark_id": outcome.bench_id, "cv": cvs, "medians": medians}
        noisy = {n: cv for n, cv in cvs.items() if not cv <= plan.max_cv}
        if noisy and not record.get("accept_noisy"):
            record["refused"] = ", ".join(f"{n} CV {cv:.1%}" for n, cv in noisy.items())
            self.records.update_experiment(exp_id, state="baseline-running", record=record)
            raise PerflabError(
                f"experiment {exp_id}: baseline too noisy ({record['refused']} > {plan.max_cv:.0%}); "
                f"quiet the machine and `perflab exp resume {exp_id}`, or accept with --accept-noisy REASON"
            )
        self.records.update_experiment(exp_id, state="baseline", record=record)

    # -- candidate ------------------------------------------------------------------------------------

    def run(
        self,
        exp_id: int,
        *,
        command: list[str] | None = None,
        rev: str | None = None,
        check: str | None = None,
        kill_factor: float | None = None,
    ) -> Candidate:
        """Measure a candidate against the baseline (interleaved where the baseline can still run)."""
        row = self.records.experiment(exp_id)
        if row.state in ("baseline-running",):
            raise PerflabError(f"experiment {exp_id} has no baseline yet: perflab exp resume {exp_id}")
        if command is not None and rev is not None:
            raise PerflabError("give either --rev REV or -- CMD, not both")
        if kill_factor is not None and not kill_factor > 1.0:
            raise PerflabError(f"--kill-at {kill_factor}: must be a factor above 1, e.g. 1.10")
        record = row.record
        record["pending"] = {"command": command, "rev": rev, "check": check, "kill_factor": kill_factor}
        self.records.update_experiment(exp_id, state="candidate-running", record=record)
        return self._measure_candidate(exp_id)

    def _measure_candidate(self, exp_id: int) -> Candidate:
        row = self.records.experiment(exp_id)
        record, plan = row.record, plan_of(row.record)
        pending = record["pending"]
        git = record.get("git")
        mode = "command" if pending["command"] else ("rev" if pending["rev"] else "tree")
        cand = Candidate(mode=mode, command=pending["command"] or plan.command, rev=pending["rev"])
        check_cmd = pending["check"] or plan.check
        with ExitStack() as stack:
            cand_dir, base_dir = self._places(stack, cand, git, plan)
            timeout = self._timeout(record, pending["kill_factor"])
            arms = [("candidate", cand.command, cand_dir)]
            if base_dir is not False:
                arms.insert(0, ("baseline", plan.command, base_dir))
                cand.interleaved = True
            else:
                cand.warning = DRIFT_WARNING
            self.observe(
                f"experiment {exp_id}: measuring the {mode} candidate"
                + (" interleaved with the baseline" if cand.interleaved else "")
            )
            outcome = measure_arms(self.store, arms, plan, plan.inputs, timeout)
            cand.benchmark_id = outcome.bench_id
            cand.killed = killed_runs(outcome.benchmark, record, pending["kill_factor"])
            if check_cmd:
                cand.check = run_check(check_cmd, cand.command, plan.inputs, cand_dir or Path(plan.cwd))
        if record.get("candidate"):
            record["attempts"].append(record["candidate"])
        record["candidate"] = asdict(cand)
        record.pop("pending", None)
        record.pop("decision", None)
        self.records.update_experiment(exp_id, state="measured", record=record)
        return cand

    def _places(
        self, stack: ExitStack, cand: Candidate, git: dict[str, Any] | None, plan: Plan
    ) -> tuple[Path | None, Path | None | bool]:
        """Where the candidate and the baseline run (None: the current directory; False: cannot run)."""
        if cand.mode == "command":
            if git:
                cand.patch, cand.diff_hash = checkout.diff(Path(git["root"]), git["commit"], None)
            return None, None
        if not git:
            raise PerflabError(
                "--rev and tree candidates need the baseline to have been measured in a git "
                "work tree; give the candidate as -- CMD instead"
            )
        root, base_commit = Path(git["root"]), git["commit"]
        state = state_dir() / "checkouts"
        base_dir: Path | bool = False
        if not git["dirty"]:
            base_dir = stack.enter_context(checkout.private_checkout(root, base_commit, state))
            checkout.run_build(plan.build, base_dir)
            base_dir = base_dir / os.path.relpath(plan.cwd, root)
        if cand.mode == "rev":
            commit = checkout.resolve_rev(root, cand.rev or "")
            cand.patch, cand.diff_hash = checkout.diff(root, base_commit, commit)
            cand_dir = stack.enter_context(checkout.private_checkout(root, commit, state))
            checkout.run_build(plan.build, cand_dir)
            return cand_dir / os.path.relpath(plan.cwd, root), base_dir
        cand.patch, cand.diff_hash = checkout.diff(root, base_commit, None)
        return (Path(plan.cwd) if base_dir is not False else None), base_dir

    @staticmethod
    def _timeout(record: dict[str, Any], kill_factor: float | None) -> float | None:
        """A hard limit for runaway runs: kill_factor × the slowest input's baseline median."""
        medians = record["baseline"].get("medians") or {}
        if kill_factor is None or not medians:
            return None
        return kill_factor * max(medians.values())

    # -- decision -------------------------------------------------------------------------------------

    def decide(self, exp_id: int, rule: DecisionRule) -> Decision:
        """Apply the rule to the latest candidate; the idea's status follows the verdict."""
        row = self.records.experiment(exp_id)
        record = row.record
        cand = record.get("candidate")
        if row.state not in ("measured", "decided") or not cand:
            raise PerflabError(f"experiment {exp_id} has no measured candidate yet: perflab exp run {exp_id}")
        plan = plan_of(record)
        candidate_bench = self.store.get(cand["benchmark_id"])
        baseline_bench = (
            candidate_bench if cand["interleaved"] else self.store.get(record["baseline"]["benchmark_id"])
        )
        base, new = arm_samples(baseline_bench, "baseline"), arm_samples(candidate_bench, "candidate")
        inputs = [
            InputSamples(s.name, base.get(s.name, []), new.get(s.name, []), s.weight) for s in plan.inputs
        ]
        passed = cand["check"].get("passed", True) if cand["check"] else True
        decision = decide(inputs, rule, check_passed=passed, killed=cand.get("killed"), seed=plan.seed)
        record["decision"] = decision_dict(decision)
        record["decision"]["interleaved"] = cand["interleaved"]
        self.records.update_experiment(exp_id, state="decided", record=record, verdict=decision.verdict)
        self.records.set_status(
            row.idea_id,
            IDEA_STATUS[decision.verdict],
            f"experiment {exp_id}: {decision.verdict} — {decision.reason}",
        )
        return decision

    def resume(self, exp_id: int, *, accept_noisy: str | None = None) -> str:
        """Repeat the step a killed perflab left under way (or a refused noisy baseline, now accepted)."""
        row = self.records.experiment(exp_id)
        if row.state == "baseline-running":
            if accept_noisy:
                row.record["accept_noisy"] = accept_noisy
                self.records.update_experiment(exp_id, state=row.state, record=row.record)
            self._measure_baseline(exp_id)
            return "baseline measured"
        if row.state == "candidate-running":
            self._measure_candidate(exp_id)
            return "candidate measured"
        return f"nothing to resume: experiment {exp_id} is {row.state}"


def decision_dict(decision: Decision) -> dict[str, Any]:
    data = asdict(decision)
    data["gain_ci"] = list(decision.gain_ci)
    return data


def _median(values: list[float]) -> float:
    import numpy as np

    return float(np.median(values)) if values else float("nan")


def killed_runs(benchmark: Any, record: dict[str, Any], kill_factor: float | None) -> str | None:
    """The first candidate run that took longer than kill_factor × the baseline median of its input."""
    if kill_factor is None:
        return None
    medians = record["baseline"].get("medians") or {}
    for c in benchmark.commands:
        if c.parameters.get("arm") != "candidate":
            continue
        limit = kill_factor * medians.get(c.parameters["input"], float("inf"))
        for r in c.runs:
            if r.timed_out or r.wall_s > limit:
                return (
                    f"input {c.parameters['input']}: a run took {r.wall_s:.4g} s, over {kill_factor:g} × "
                    f"the baseline median ({limit:.4g} s)"
                )
    return None
