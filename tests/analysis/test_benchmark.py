"""analyze(), compare_benchmarks() and the noise warnings."""

from __future__ import annotations

import json

import pytest

from perflab.analysis.benchmark import analyze, compare_benchmarks
from perflab.analysis.warnings import environment_warnings, noise_warnings
from perflab.env.capture import capture_environment
from perflab.errors import PerflabError
from perflab.stats.summary import summarize
from perflab.store.model import Benchmark, Run
from tests.report.helpers import real_benchmark, synthetic
from tests.stats.verdict_rule import assert_verdict_follows_the_rule

QUIET_ENV = {"loadavg": [0.0, 0.0, 0.0], "cores_logical": 4, "governor": "performance", "turbo": "off",
             "vm": {"detected": False}}


def bench(*commands, env=None) -> Benchmark:  # type: ignore[no-untyped-def]
    return Benchmark(commands=list(commands), created_at="2026-11-23T00:00:00+00:00",
                     environment=env if env is not None else dict(QUIET_ENV))


def test_real_sleeps_analysis_is_complete_and_its_verdict_follows_the_rule() -> None:
    """Real processes: only what must always hold. That 10 ms against 20 ms is "slower" with a CI holding
    the true ratio is a statistical claim, checked over many seeded trials in tests/bench/test_verdicts.py
    (a single real run would fail it about once in twenty by design)."""
    b = real_benchmark([["sleep", "0.010"], ["sleep", "0.020"]], runs=15)
    assert min(b.commands[1].wall_times_s()) >= 0.020  # a sleep never returns early
    a = analyze(b, seed=1)
    (cmp,) = a["comparisons"]
    assert_verdict_follows_the_rule(cmp)
    medians = [c["wall"]["median"] for c in a["commands"]]
    assert cmp["ratio"] == pytest.approx(medians[1] / medians[0])
    assert a["commands"][0]["wall"]["n"] == 15
    assert a["commands"][0]["user"]["n"] == 15
    json.dumps(a, allow_nan=False)


def test_a_a_and_holm_family() -> None:
    """Seeded synthetic data (CV 1 %, 30 runs). A/A is called different only if its ratio CI leaves the ±1 %
    band: a 5-SE excursion of the log-ratio (SE 1.2533 * 0.01 * sqrt(2/30) = 0.0032), P < 1e-6 for any
    seed; B at 1.3× is 80 SE away."""
    a = analyze(bench(synthetic("A", 0.01, 30, seed=1), synthetic("A2", 0.01, 30, seed=2),
                      synthetic("B", 0.013, 30, seed=3)), seed=1)
    verdicts = {c["candidate"]: c for c in a["comparisons"]}
    assert verdicts["A2"]["verdict"] == "no significant change"
    assert verdicts["B"]["verdict"] == "slower"
    assert verdicts["B"]["family_size"] == 2
    assert verdicts["B"]["p_adjusted"] >= verdicts["B"]["p_value"]


def test_metric_direction_and_nan_free_json() -> None:
    b = bench(synthetic("A", 0.01, 20, seed=1, metric=100.0), synthetic("B", 0.012, 20, seed=2, metric=100.0))
    b.commands[1].runs.append(Run(sequence=99, wall_ns=1, user_s=0, sys_s=0, exit_code=None, signal=9))
    a = analyze(b, seed=1)
    ops = next(c for c in a["comparisons"] if c["metric"] == "ops")
    assert ops["higher_is_better"] is True and ops["verdict"] == "slower"  # fewer ops/s is worse
    assert a["commands"][1]["excluded_runs"] == 1
    assert any("killed" in w for w in a["commands"][1]["warnings"])
    single = analyze(bench(synthetic("A", 0.01, 1)))
    assert single["commands"][0]["wall"]["stddev"] is None
    json.dumps(single, allow_nan=False)


def test_against_stored_baseline_matches_by_name() -> None:
    base = bench(synthetic("A", 0.01, 20, seed=1))
    base.id = 7
    new = bench(synthetic("A", 0.0125, 20, seed=2))
    a = analyze(new, baseline=base, seed=1)
    assert a["comparisons"][0]["verdict"] == "slower"
    assert a["reference"] == {"baseline_id": 7}


def test_compare_benchmarks_errors_and_metric() -> None:
    a = bench(synthetic("A", 0.01, 20, seed=1, metric=10.0))
    b = bench(synthetic("A", 0.01, 20, seed=2, metric=12.0))
    out = compare_benchmarks(a, b, metric="ops", seed=1)
    assert [c["metric"] for c in out["comparisons"]] == ["ops"]
    assert out["comparisons"][0]["verdict"] == "faster"
    with pytest.raises(PerflabError, match="metric 'nope' was not recorded"):
        compare_benchmarks(a, b, metric="nope")
    c = bench(synthetic("X", 0.01, 5), synthetic("Y", 0.01, 5))
    with pytest.raises(PerflabError, match="no command of B matches"):
        compare_benchmarks(c, bench(synthetic("Z", 0.01, 5)))


def test_noise_warnings_each_condition() -> None:
    noisy = synthetic("N", 0.01, 20, cv=0.3, seed=4)
    noisy.runs[0].wall_ns *= 3  # a cold first run
    summary = summarize(noisy.wall_times_s(), seed=1)
    env = {"loadavg": [3.0, 1, 1], "cores_logical": 2, "governor": "powersave", "turbo": "on",
           "vm": {"detected": True, "kind": "kvm"}}
    text = " | ".join(noise_warnings(noisy, summary, env))
    for expected in ("CV", "outliers", "1.50 per core", "powersave", "turbo", "virtual machine (kvm)",
                     "first run"):
        assert expected in text, expected
    empty = synthetic("E", 0.01, 0)
    assert noise_warnings(empty, summarize([]), {}) == ["no completed run: nothing to summarise or compare"]
    few = synthetic("F", 0.01, 3)
    assert any("only 3 run(s)" in w for w in noise_warnings(few, summarize(few.wall_times_s()), QUIET_ENV))
    calm = synthetic("C", 0.01, 30, cv=0.001, seed=5)
    assert noise_warnings(calm, summarize(calm.wall_times_s(), seed=1), QUIET_ENV) == []


def test_this_vm_warns() -> None:
    assert any("virtual machine" in w for w in environment_warnings(capture_environment()))
