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
    [c] = expand(["grep -c 'a b' '$HOME'"])
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
    # hyperfine's order: the first list varies fastest
    assert [c.name for c in commands] == ["gzip@1", "xz@1", "gzip@2", "xz@2", "gzip@3", "xz@3"]
    assert commands[3].argv == ["xz", "-2", "file"]
    assert commands[3].parameters == {"algo": "xz", "level": "2"}
    assert commands[3].prepare == ["cp", "orig.xz", "file"]


def test_parameter_scan_uses_exact_decimal_steps() -> None:
    assert parse_parameter_scan("t", "0.1", "0.5", "0.1")[1] == ["0.1", "0.2", "0.3", "0.4", "0.5"]
    assert parse_parameter_scan("n", "2", "10", "4")[1] == ["2", "6", "10"]
    with pytest.raises(PerflabError, match="HI is below LO"):
        parse_parameter_scan("n", "5", "1", None)
    with pytest.raises(PerflabError, match="must be positive"):
        parse_parameter_scan("n", "1", "5", "0")


def test_wrong_name_and_hook_counts_are_errors() -> None:
    with pytest.raises(PerflabError, match="2 --name given for 1 commands"):
        expand(["true"], names=["a", "b"])
    with pytest.raises(PerflabError, match="2 --prepare given for 3 commands"):
        expand(["true", "false", "true"], prepare=["a", "b"])


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


def test_an_unused_parameter_is_allowed_and_named_as_hyperfine_names_it() -> None:
    """hyperfine's unused_parameters_are_shown_in_benchmark_name: ``echo test (branch = master)``."""
    commands = expand(["echo test"], parameters=[parse_parameter_list("branch", "master,feature")])
    assert [c.name for c in commands] == ["echo test (branch = master)", "echo test (branch = feature)"]
    assert [c.parameters for c in commands] == [{"branch": "master"}, {"branch": "feature"}]
    used = expand(["echo {a}"], parameters=[("a", ["1"]), ("b", ["x"])])
    assert used[0].name == "echo 1 (b = x)"


def test_several_lists_vary_the_first_fastest_like_hyperfine() -> None:
    """hyperfine's test_build_commands_cross_product: command list first, then par1, then par2."""
    commands = expand(["echo {par1} {par2}", "printf %s {par1} {par2}"],
                      parameters=[parse_parameter_list("par1", "a,b"), parse_parameter_list("par2", "z,y")])
    assert [c.command for c in commands] == [
        "echo a z", "printf %s a z", "echo b z", "printf %s b z",
        "echo a y", "printf %s a y", "echo b y", "printf %s b y",
    ]


def test_names_one_for_all_or_one_per_benchmark_as_hyperfine() -> None:
    scan = parse_parameter_scan("val", "1", "2", "1")
    named = expand(["echo {val}", "sleep {val}"], parameters=[scan],
                   names=["echo-1", "sleep-1", "echo-2", "sleep-2"])
    assert [(c.name, c.command) for c in named] == [
        ("echo-1", "echo 1"), ("sleep-1", "sleep 1"), ("echo-2", "echo 2"), ("sleep-2", "sleep 2")]
    assert [c.name for c in expand(["echo {val}"], parameters=[scan], names=["name-{val}"])] == \
        ["name-1", "name-2"]


def test_parameter_lists_read_escaped_commas_and_empty_values_like_hyperfine() -> None:
    assert parse_parameter_list("x", r"hello\, world!,b")[1] == ["hello, world!", "b"]
    assert parse_parameter_list("flags", ",-O2")[1] == ["", "-O2"]
    assert parse_parameter_list("x", r"a\\b")[1] == ["a\\b"]


def test_decimal_scans_keep_the_scale_as_hyperfine_prints_it() -> None:
    assert parse_parameter_scan("t", "0", "0.02", "0.005")[1] == ["0", "0.005", "0.010", "0.015", "0.020"]
    assert parse_parameter_scan("v", "0", "1", "0.33")[1] == ["0", "0.33", "0.66", "0.99"]
    assert parse_parameter_scan("n", "1", "7", "3")[1] == ["1", "4", "7"]
    assert parse_parameter_scan("s", "0.0000001", "0.0000002", "0.0000001")[1] == ["0.0000001", "0.0000002"]


@pytest.mark.parametrize(("text", "what"), [
    ("echo a | wc -c", "pipe"), ("true && false", "&"), ("true || false", "pipe"), ("true; false", ";"),
    ("echo x > out", "redirection"), ("cat < in", "redirection"), ("echo $HOME", "$"),
    ('echo "$HOME"', "$"), ("echo ${X}", "$"), ("echo $(date)", "$("), ("echo `date`", "backquote"),
    ("ls *.py", "glob"), ("ls file?.txt", "glob"), ("ls [ab].txt", "[...]"), ("sleep 1 &", "&"),
    ("ls ~/x", "~"), ("echo a # note", "#"), ("FOO=1 env", "assignment"), ("(true)", "subshell"),
])
def test_shell_syntax_without_a_shell_is_refused_with_a_hint(text: str, what: str) -> None:
    with pytest.raises(PerflabError, match="--shell") as error:
        expand([text])
    assert what in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("text", [
    "echo 'a | b' \"c && d\" e\\;f", "grep -c '$HOME' x", "[ -f /etc/passwd ]", "echo a#b", "echo 100%",
    "printf '%s\\n' '*'", "git log HEAD~1", "echo a=b", "echo $", "python3 -c 'print(1)'",
])
def test_quoted_or_harmless_characters_are_not_shell_syntax(text: str) -> None:
    [c] = expand([text])
    assert c.argv[0] in ("echo", "grep", "[", "printf", "git", "python3")


def test_shell_syntax_is_fine_with_a_shell_or_when_asked_for_literally() -> None:
    [s] = expand(["echo a | wc -c"], shell=True)
    assert s.argv == ["sh", "-c", "echo a | wc -c"]
    [b] = expand(["echo a | wc -c"], shell=["bash", "-e"])
    assert b.argv == ["bash", "-e", "-c", "echo a | wc -c"]
    [n] = expand(["echo a | wc -c"], literal=True)  # hyperfine -N: the words as written
    assert n.argv == ["echo", "a", "|", "wc", "-c"]
    with pytest.raises(PerflabError, match="--prepare 'echo x > f' contains a redirection"):
        expand(["true"], prepare=["echo x > f"])
