"""Experiments on real processes: baseline, candidates by command / revision / tree, check, kill, resume.

The workload is `sh work.sh {input}`: it sleeps the duration written in the input file times factors read
from a.conf and b.conf, so each candidate's true effect is large and known (×0.25 faster, ×2 slower) and
the verdicts below hold whatever the machine load: with 10 runs per arm a 4× difference in sleep time
separates the samples completely unless scheduling delays exceed tens of milliseconds on many runs.
Verdicts that depend only on rules (REJECT on a failed check, KILL on a time limit, refusals) are exact.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from perflab.analysis.decision import DecisionRule
from perflab.errors import PerflabError
from perflab.lab.experiment import Experiments
from perflab.lab.experiment_combine import combine
from perflab.lab.experiment_plan import Plan, parse_inputs
from perflab.store.db import Store
from perflab.store.method import MethodRecords

WORK_SH = """a=$(cat a.conf); b=$(cat b.conf); d=$(cat "$1")
f=$(awk "BEGIN { f = $a * $b; if ($a < 1 && $b < 1 && CONFLICT) f = 2; print f * $d }")
sleep "$f"
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git repository holding the workload, its two knobs and three inputs, one clean commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "work.sh").write_text(WORK_SH.replace("CONFLICT", "0"))
    (repo / "a.conf").write_text("1\n")
    (repo / "b.conf").write_text("1\n")
    for name, seconds in (("small", "0.05"), ("medium", "0.06"), ("large", "0.08")):
        (repo / f"{name}.in").write_text(seconds + "\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.email=t@example.org", "-c", "user.name=t", "add", ".")
    git(repo, "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "baseline")
    return repo


def commit(repo: Path, message: str) -> str:
    git(repo, "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qam", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture()
def experiments(tmp_path: Path) -> Experiments:
    return Experiments(MethodRecords(Store.open(f"sqlite:///{tmp_path / 'store.db'}")))


def plan(repo: Path, **kw: object) -> Plan:
    inputs = parse_inputs(["small.in", "medium.in", "large.in"], repo)
    return Plan(command=["sh", "work.sh", "{input}"], inputs=inputs, cwd=str(repo), seed=7, **kw)


NOISY_OK = "a test machine shared with other work"  # CV refusal is tested on its own below


def started(experiments: Experiments, repo: Path, **kw: object) -> int:
    idea = experiments.records.add_idea("halve the sleep", "high", "low")
    return experiments.start(idea, plan(repo, **kw), accept_noisy=NOISY_OK)


@pytest.mark.slow
def test_a_faster_command_is_kept_and_the_idea_follows(experiments: Experiments, repo: Path) -> None:
    exp = started(experiments, repo)
    assert experiments.records.experiment(exp).state == "baseline"
    same = experiments.run(exp, command=["sh", "work.sh", "{input}"])  # an A/A attempt, replaced below
    assert same.interleaved and same.mode == "command"
    experiments.run(exp, command=["sh", "-c", 'sleep $(awk "BEGIN{print $(cat "$0") / 8}")', "{input}"])
    decision = experiments.decide(exp, DecisionRule())
    assert decision.verdict == "KEEP", decision.reason
    assert decision.gain > 0.5  # 8× shorter sleeps; the spawn cost both arms share dilutes it
    row = experiments.records.experiment(exp)
    assert row.state == "decided" and row.verdict == "KEEP" and len(row.record["attempts"]) == 1
    assert experiments.records.idea(row.idea_id).status == "kept"


@pytest.mark.slow
def test_a_revision_is_built_privately_and_compared_interleaved(experiments: Experiments, repo: Path) -> None:
    exp = started(experiments, repo, build="test -f work.sh")
    (repo / "a.conf").write_text("3\n")
    slower = commit(repo, "three times as slow")
    git(repo, "checkout", "-q", "HEAD~1")  # the user's checkout is elsewhere; the candidate is a revision
    cand = experiments.run(exp, rev=slower)
    assert cand.interleaved and cand.mode == "rev" and "+3" in cand.patch and len(cand.diff_hash) == 64
    decision = experiments.decide(exp, DecisionRule())
    assert decision.verdict == "DISCARD" and all(e.regressed for e in decision.inputs), decision.reason
    assert (repo / "a.conf").read_text() == "1\n"  # the user's tree untouched
    assert "worktree" not in git(repo, "worktree", "list").split("\n", 1)[-1]  # private checkouts removed


@pytest.mark.slow
def test_a_failing_check_rejects_and_a_time_limit_kills(experiments: Experiments, repo: Path) -> None:
    exp = started(experiments, repo)
    experiments.run(
        exp, command=["sh", "work.sh", "{input}"], check="sh -c '{candidate} && grep -q 0.9 {input}'"
    )
    decision = experiments.decide(exp, DecisionRule())
    assert decision.verdict == "REJECT"
    check = experiments.records.experiment(exp).record["candidate"]["check"]
    assert not check["passed"] and [r["exit_code"] for r in check["runs"]] == [1, 1, 1]
    experiments.run(
        exp, command=["sh", "-c", 'sleep $(awk "BEGIN{print $(cat "$0") * 3}")', "{input}"], kill_factor=1.1
    )
    assert experiments.decide(exp, DecisionRule()).verdict == "KILL"


def test_too_few_inputs_and_too_few_runs_are_refused_before_measuring(
    experiments: Experiments, repo: Path
) -> None:
    idea = experiments.records.add_idea("x", "high", "low")
    one = Plan(command=["sh", "work.sh", "{input}"], inputs=parse_inputs(["small.in"], repo), cwd=str(repo))
    with pytest.raises(PerflabError, match="--single-input REASON"):
        experiments.start(idea, one)
    with pytest.raises(PerflabError, match="at least 10 runs"):
        experiments.start(idea, plan(repo, runs=5))
    with pytest.raises(PerflabError, match="must use {input}"):
        experiments.start(idea, Plan(command=["true"], inputs=plan(repo).inputs, cwd=str(repo)))
    assert experiments.records.experiments() == []


@pytest.mark.slow
def test_a_noisy_baseline_is_refused_unless_accepted(experiments: Experiments, repo: Path) -> None:
    """Sleeps drawn uniformly from 0–100 ms have a CV near 58 %; below 10 % with 10 draws is impossible
    in practice (it needs every draw within a few ms of the others). The draw comes from /dev/urandom:
    awk's srand() seeds from the clock's second, so on a quiet machine ten runs within one second all
    slept the same time (CV 0: seen in CI)."""
    (repo / "work.sh").write_text(
        'n=$(od -An -N2 -tu2 /dev/urandom | tr -d " ")\nsleep $(awk "BEGIN { print $n / 655360 }")\n')
    commit(repo, "noisy")
    idea = experiments.records.add_idea("x", "high", "low")
    with pytest.raises(PerflabError, match="too noisy"):
        experiments.start(idea, plan(repo))
    row = experiments.records.experiments()[0]
    assert row.state == "baseline-running" and "CV" in row.record["refused"]
    accepted = experiments.start(idea, plan(repo), accept_noisy=NOISY_OK)
    assert experiments.records.experiment(accepted).state == "baseline"


@pytest.mark.slow
def test_combining_two_changes_reports_a_conflict_only_when_together_is_worse(
    experiments: Experiments, repo: Path
) -> None:
    (repo / "work.sh").write_text(WORK_SH.replace("CONFLICT", "1"))
    commit(repo, "a workload where the two knobs clash")
    results = {}
    for knob in ("a", "b"):
        idea = experiments.records.add_idea(f"halve {knob}", "high", "low")
        exp = experiments.start(idea, plan(repo), accept_noisy=NOISY_OK)
        (repo / f"{knob}.conf").write_text("0.5\n")
        experiments.run(exp)  # the working tree is the candidate
        results[knob] = exp
        assert experiments.decide(exp, DecisionRule()).verdict == "KEEP"
        git(repo, "checkout", "-q", "--", f"{knob}.conf")
    outcome = combine(experiments, results["a"], results["b"], DecisionRule())
    assert outcome["conflict"], outcome["summary"]


def test_resume_repeats_the_step_a_killed_perflab_left(
    experiments: Experiments, repo: Path, tmp_path: Path
) -> None:
    idea = experiments.records.add_idea("x", "high", "low")
    from dataclasses import asdict

    record = {
        "hypothesis": "x",
        "plan": asdict(plan(repo)),
        "git": None,
        "attempts": [],
        "accept_noisy": NOISY_OK,
    }
    exp = experiments.records.add_experiment(idea, "baseline-running", record)  # as a SIGKILL leaves it
    assert experiments.resume(exp) == "baseline measured"
    assert experiments.records.experiment(exp).state == "baseline"
    assert experiments.resume(exp).startswith("nothing to resume")


@pytest.mark.slow
def test_tracker_measures_the_cumulative_gain_against_the_first_baseline(
    experiments: Experiments, repo: Path
) -> None:
    from perflab.lab.experiment_combine import measure_cumulative
    from perflab.lab.experiment_log import tracker_markdown

    exp = started(experiments, repo)
    (repo / "a.conf").write_text("0.25\n")
    experiments.run(exp)  # the working tree
    assert experiments.decide(exp, DecisionRule()).verdict == "KEEP"
    commit(repo, "kept: quarter the sleep")
    cumulative = measure_cumulative(experiments, DecisionRule())
    assert cumulative["verdict"] == "KEEP" and cumulative["gain_ci"][0] > 0
    text = tracker_markdown(experiments.records, cumulative)
    assert "measured:" in text and "| KEEP |" in text


def test_a_suite_benchmark_becomes_the_plan_with_its_generated_inputs(tmp_path: Path) -> None:
    from perflab.lab.experiment_plan import plan_from_suite

    (tmp_path / "perflab.toml").write_text(
        '[suite]\nreference = "slow"\nseed = 3\n\n'
        "[inputs.one]\ngenerate = \"sh -c 'echo {seed} > {output}'\"\n\n"
        "[inputs.two]\ngenerate = \"sh -c 'echo two {seed} > {output}'\"\n\n"
        '[[benchmark]]\nname = "cat"\nargv = ["cat", "-{flag}", "{input}"]\ninputs = ["one", "two"]\n\n'
        '[[benchmark]]\nname = "wc"\nargv = ["wc", "{input}"]\ninputs = ["one"]\n\n'
        '[[variant]]\nname = "slow"\nvars = { flag = "n" }\n\n'
        '[[variant]]\nname = "fast"\nvars = { flag = "s" }\n'
    )
    suite = str(tmp_path / "perflab.toml")
    plan = plan_from_suite(suite, "cat", None)
    assert plan.command == ["cat", "-n", "{input}"] and plan.cwd == str(tmp_path)
    assert [i.name for i in plan.inputs] == ["one", "two"]
    first = Path(plan.inputs[0].value).read_text()
    assert plan_from_suite(suite, "cat", "fast").command == ["cat", "-s", "{input}"]
    assert (
        Path(plan_from_suite(suite, "cat", None).inputs[0].value).read_text() == first
    )  # same seed, same bytes
    with pytest.raises(PerflabError, match="choose one with --benchmark"):
        plan_from_suite(suite, None, None)
    with pytest.raises(PerflabError, match="no benchmark 'gzip'"):
        plan_from_suite(suite, "gzip", None)
    with pytest.raises(PerflabError, match="no variant 'medium'"):
        plan_from_suite(suite, "cat", "medium")
