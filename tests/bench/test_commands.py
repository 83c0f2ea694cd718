"""Command strings, parameters, metric specs and the interleaving/stopping rules (pure functions)."""

from __future__ import annotations

import pytest

from perflab.bench.commands import (
    Command,
    expand,
    extract_metric,
    parse_env,
    parse_metric,
    parse_parameter_list,
    parse_parameter_scan,
)
from perflab.bench.scheduler import BlockOrder, RunCount, StopRule
from perflab.errors import PerflabError


def test_strings_are_split_like_a_shell_but_not_run_by_one() -> None:
    [c] = expand(["grep -c 'a b' \"$HOME\""])
    assert c.argv == ["grep", "-c", "a b", "$HOME"]  # no expansion: there is no shell
    [s] = expand(["echo $HOME | wc"], shell=True)
    assert s.argv == ["sh", "-c", "echo $HOME | wc"]
    with pytest.raises(PerflabError, match="No closing quotation"):
        expand(["echo 'unterminated"])


def test_argv_command_keeps_its_words() -> None:
    c = Command.from_argv(["printf", "%s\n", "a b"])
    assert c.argv == ["printf", "%s\n", "a b"] and c.name == "printf '%s\n' 'a b'"


def test_parameter_product_substitutes_command_name_and_hooks() -> None:
    params = [parse_parameter_list("algo", "gzip,xz"), parse_parameter_scan("level", "1", "3", None)]
    commands = expand(["{algo} -{level} file"], names=["{algo}@{level}"], parameters=params,
                      prepare=["cp orig.{algo} file"])
    assert [c.name for c in commands] == ["gzip@1", "gzip@2", "gzip@3", "xz@1", "xz@2", "xz@3"]
    assert commands[4].argv == ["xz", "-2", "file"]
    assert commands[4].parameters == {"algo": "xz", "level": "2"}
    assert commands[4].prepare == ["cp", "orig.xz", "file"]


def test_parameter_scan_uses_exact_decimal_steps() -> None:
    assert parse_parameter_scan("t", "0.1", "0.5", "0.1")[1] == ["0.1", "0.2", "0.3", "0.4", "0.5"]
    assert parse_parameter_scan("n", "2", "10", "4")[1] == ["2", "6", "10"]
    with pytest.raises(PerflabError, match="HI is below LO"):
        parse_parameter_scan("n", "5", "1", None)
    with pytest.raises(PerflabError, match="must be positive"):
        parse_parameter_scan("n", "1", "5", "0")


def test_unused_parameter_and_wrong_name_counts_are_errors() -> None:
    with pytest.raises(PerflabError, match="not used in the command"):
        expand(["sleep 1"], parameters=[parse_parameter_list("x", "1,2")])
    with pytest.raises(PerflabError, match="2 --name given for 1 commands"):
        expand(["true"], names=["a", "b"])
    with pytest.raises(PerflabError, match="2 --prepare given for 3 commands"):
        expand(["true", "false", "true"], prepare=["a", "b"])
    with pytest.raises(PerflabError, match="empty value"):
        parse_parameter_list("x", "a,,b")


@pytest.mark.parametrize(("text", "name", "regex", "unit", "higher"), [
    ("ops=([0-9.]+) ops/s", "ops", "([0-9.]+) ops/s", "", True),
    ("ops=ops: ([0-9.]+):ops/s", "ops", "ops: ([0-9.]+)", "ops/s", True),
    ("lat=latency ([0-9.]+)ms:ms:lower", "lat", "latency ([0-9.]+)ms", "ms", False),
    ("gas=(?:Mgas)=([0-9.]+):higher", "gas", "(?:Mgas)=([0-9.]+)", "", True),
])
def test_metric_specs(text: str, name: str, regex: str, unit: str, higher: bool) -> None:
    spec = parse_metric(text)
    assert (spec.name, spec.regex, spec.unit, spec.higher_is_better) == (name, regex, unit, higher)


def test_bad_metric_specs_are_clear() -> None:
    with pytest.raises(PerflabError, match="expected NAME=REGEX"):
        parse_metric("no-equals-sign")
    with pytest.raises(PerflabError, match="bad regular expression"):
        parse_metric("x=([0-9]+")


def test_metric_extraction() -> None:
    spec = parse_metric("rate=rate: ([0-9.,]+) MB/s:MB/s")
    assert extract_metric(spec, "warming up\nrate: 1,234.5 MB/s\nrate: 9 MB/s") == 1234.5  # first match
    assert extract_metric(spec, "no rate here") is None
    assert extract_metric(parse_metric("n=[0-9]+"), "got 17 items") == 17.0  # no group: whole match


def test_env_items() -> None:
    assert parse_env(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(PerflabError, match="KEY=VALUE"):
        parse_env(["nope"])


def test_blocks_are_permutations_and_the_seed_reproduces_them() -> None:
    a, b = BlockOrder([0, 1, 2], seed=7), BlockOrder([0, 1, 2], seed=7)
    blocks = [a.next_block() for _ in range(50)]
    assert blocks == [b.next_block() for _ in range(50)]
    assert all(sorted(block) == [0, 1, 2] for block in blocks)
    assert len({tuple(block) for block in blocks}) > 3  # really shuffled, not one fixed order
    other = BlockOrder([0, 1, 2], seed=8)
    assert [other.next_block() for _ in range(50)] != blocks


def test_stop_rule_on_synthetic_samples() -> None:
    fixed = StopRule(RunCount(runs=5))
    assert not fixed.decide(4, 100.0, [[1.0] * 4]).stop and fixed.decide(5, 0.0, [[1.0] * 5]).stop
    rule = StopRule(RunCount(min_runs=10, max_runs=100, max_time_s=60, target_precision=0.01))
    steady = [1.0 + 0.001 * (i % 3) for i in range(10)]
    assert not rule.decide(9, 0.1, [steady[:9]]).stop  # below min-runs, however precise
    decision = rule.decide(10, 0.1, [steady])
    assert decision.stop and "median CI" in decision.reason
    noisy = [1.0 + (i % 2) for i in range(50)]
    rule = StopRule(RunCount(min_runs=10, max_runs=50, max_time_s=60, target_precision=0.01))
    assert not rule.decide(40, 1.0, [noisy[:40]]).stop
    assert "max-runs" in rule.decide(50, 1.0, [noisy]).reason
    timed = StopRule(RunCount(min_runs=10, max_runs=1000, max_time_s=2.0))
    assert "max-time" in timed.decide(12, 2.5, [noisy[:12]]).reason


def test_run_count_validation() -> None:
    with pytest.raises(PerflabError, match="max_runs = 10 is below min_runs = 20") as caught:
        RunCount(min_runs=20, max_runs=10).validate()
    assert caught.value.option == "max_runs" and caught.value.value == 10  # the CLI words the flag
    with pytest.raises(PerflabError, match="target_precision") as caught:
        RunCount(target_precision=0).validate()
    assert caught.value.option == "target_precision"


def test_identical_commands_get_distinct_names() -> None:
    """An A/A comparison must still tell its two sides apart in the table and the verdicts."""
    names = [c.name for c in expand(["sleep 0.01", "sleep 0.01", "true"])]
    assert names == ["sleep 0.01 (1)", "sleep 0.01 (2)", "true"]
    assert [c.name for c in expand(["x", "y"], names=["same", "same"])] == ["same (1)", "same (2)"]


def test_argv_templates_substitute_word_by_word_without_resplitting() -> None:
    [c] = expand([["printf", "%s|", "{x} y"]], parameters=[("x", ["a b"])])
    assert c.argv == ["printf", "%s|", "a b y"] and c.command == "printf '%s|' 'a b y'"
    [s] = expand([["echo", "{x}", "$HOME"]], shell=True, parameters=[("x", ["1"])])
    assert s.argv == ["sh", "-c", "echo 1 '$HOME'"]  # quoted: the words stay words under sh -c
