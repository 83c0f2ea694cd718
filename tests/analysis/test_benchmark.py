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
    with pytest.raises(PerflabError, match="match no command of A by name or command line"):
        compare_benchmarks(c, bench(synthetic("Z", 0.01, 5)))


def test_compare_refuses_two_different_commands_unless_forced_and_labels_it() -> None:
    """Observed: ``perflab compare A B`` of two different commands said "1.58× faster"."""
    a = bench(synthetic("gzip", 0.01, 20, seed=1))
    b = bench(synthetic("zstd", 0.0063, 20, seed=2))
    with pytest.raises(PerflabError, match="B's 'zstd' match no command of A .*--force"):
        compare_benchmarks(a, b)
    forced = compare_benchmarks(a, b, force=True)["comparisons"][0]
    assert forced["forced"] and forced["against"] == "forced: a different command"
    assert forced["baseline"] == "gzip (A)" and forced["candidate"] == "zstd (B)"
    same = compare_benchmarks(a, bench(synthetic("gzip", 0.011, 20, seed=3)))["comparisons"][0]
    assert not same["forced"] and same["against"] is None


def test_compare_prints_the_same_figures_every_time_on_the_same_data() -> None:
    """Observed: bootstrap CIs changed from one ``compare`` call to the next on the same stored data."""
    a, b = bench(synthetic("A", 0.01, 20, seed=1)), bench(synthetic("A", 0.012, 20, seed=2))
    first, again = compare_benchmarks(a, b), compare_benchmarks(a, b)
    assert first["comparisons"][0]["ratio_ci"] == again["comparisons"][0]["ratio_ci"]
    other = compare_benchmarks(a, b, seed=5)["comparisons"][0]["ratio_ci"]
    assert other != first["comparisons"][0]["ratio_ci"]


def test_noise_warnings_each_condition() -> None:
    noisy = synthetic("N", 0.01, 20, cv=0.3, seed=4)
    noisy.runs[0].wall_ns *= 3  # a cold first run
    summary = summarize(noisy.wall_times_s(), seed=1)
    env = {"loadavg": [3.0, 1, 1], "cores_logical": 2, "governor": "powersave", "turbo": "on",
           "vm": {"detected": True, "kind": "kvm"}}
    text = " | ".join(noise_warnings(noisy, summary, env))
    for expected in ("CV", "outliers", "1.50 per core", "powersave", "turbo", "virtual machine (kvm)",
                     "first measured run"):
        assert expected in text, expected
    empty = synthetic("E", 0.01, 0)
    assert noise_warnings(empty, summarize([]), {}) == ["no completed run: nothing to summarise or compare"]
    few = synthetic("F", 0.01, 3)
    assert any("only 3 run(s)" in w for w in noise_warnings(few, summarize(few.wall_times_s()), QUIET_ENV))
    calm = synthetic("C", 0.01, 30, cv=0.001, seed=5)
    assert noise_warnings(calm, summarize(calm.wall_times_s(), seed=1), QUIET_ENV) == []


def test_this_vm_warns() -> None:
    assert any("virtual machine" in w for w in environment_warnings(capture_environment()))


def test_failed_runs_are_left_out_of_the_statistics_and_reported_apart() -> None:
    """Observed: with --ignore-failure, ``bash -c '[ $((RANDOM % 8)) -ne 0 ]'``'s median mixed failing
    and passing runs. Seeded synthetic runs: the failures are 10× faster, so mixing them would show."""
    from perflab.analysis.benchmark import analyze
    from perflab.store.model import Benchmark
    from tests.report.helpers import synthetic

    c = synthetic("A", 0.01, 24, seed=3)
    for run in c.runs[::4]:  # 6 failures, exit 1, much faster
        run.exit_code, run.wall_ns = 1, run.wall_ns // 10
    cmd = analyze(Benchmark(commands=[c], created_at="t"))["commands"][0]
    assert cmd["wall"]["n"] == 18 and cmd["wall"]["min"] > 0.009
    assert cmd["failed_runs"] == 6 and cmd["failed_exit_codes"] == {"1": 6}
    assert cmd["statistics_of"] == "successful runs" and cmd["excluded_runs"] == 6
    assert any("6 run(s) failed (exit codes 1×6) and are left out" in w for w in cmd["warnings"])
    every = synthetic("B", 0.01, 10, seed=4)
    for run in every.runs:
        run.exit_code = 1  # a command whose normal exit is 1 (grep finding nothing)
    only = analyze(Benchmark(commands=[every], created_at="t"))["commands"][0]
    assert only["wall"]["n"] == 10 and only["statistics_of"] == "failed runs (none succeeded)"
    assert any("no run succeeded (exit codes 1×10)" in w for w in only["warnings"])


def test_warning_wording_is_consistent() -> None:
    """Observed: "CV 10.0 % > 10 %"; outlier counts that do not add up; "consider more --warmup" when a
    warm-up ran (the advice assumed none had)."""
    from perflab.analysis.warnings import above, command_warnings

    assert above(10.04, 10) == "10.04 % > 10 %" and above(12.3, 10) == "12.3 % > 10 %"
    c = synthetic("A", 0.01, 20, seed=1)
    c.runs[0].wall_ns *= 3  # a slow first run
    c.warmup_runs = 2
    summary = summarize(c.wall_times_s(), seed=1)
    text = " | ".join(command_warnings(c, summary))
    assert "even after 2 warm-up run(s)" in text and "no warm-up ran" not in text
    assert "outliers by at least one rule (the rules overlap" in text
    c.warmup_runs = 0
    assert "no warm-up ran" in " | ".join(command_warnings(c, summary))
