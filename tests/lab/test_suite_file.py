"""Suite files: every mistake is one line naming file:line and the key; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.lab.suite_file import load_suite

GOOD = """\
[suite]
name = "s"
runs = 5

[inputs.small]
generate = "python3 -c 'import sys; open(sys.argv[1], \\"w\\").write(\\"x\\")' {output}"

[[benchmark]]
name = "cat"
argv = ["cat", "{input}"]
inputs = ["small"]

[[variant]]
name = "a"

[[variant]]
name = "b"
env = { LC_ALL = "C" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "perflab.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(PerflabError) as caught:
        load_suite(write(tmp_path, text))
    assert "\n" not in caught.value.message
    return caught.value.message


def test_good_suite_parses(tmp_path: Path) -> None:
    spec = load_suite(write(tmp_path, GOOD))
    assert [v.name for v in spec.variants] == ["a", "b"] and spec.reference == "a"
    assert spec.benchmarks[0].settings.runs == 5 and spec.benchmarks[0].inputs == ["small"]
    assert spec.variants[1].env == {"LC_ALL": "C"} and spec.primary == "wall"


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    message = error_of(tmp_path, GOOD.replace('name = "cat"', 'name = "cat'))
    assert message.startswith(f"{path}:9: malformed TOML")


@pytest.mark.parametrize(
    ("old", "new", "line", "key"),
    [
        ("runs = 5", "runz = 5", 3, "suite.runz: unknown key"),
        ('inputs = ["small"]', 'inputs = ["small"]\nwarmpu = 2', 12, "benchmark[0].warmpu: unknown key"),
        ('env = { LC_ALL = "C" }', "env = { LC_ALL = 1 }", 18, "variant[1].env: expected string values"),
        ('inputs = ["small"]', 'inputs = ["big"]', 11, "benchmark[0].inputs: no input named 'big'"),
        ('name = "s"', 'name = "s"\nreference = "c"', 3, "suite.reference: no variant named 'c'"),
        ("runs = 5", "runs = 1", 3, "suite.runs: must be at least 2"),
        ("runs = 5", 'runs = "5"', 3, "suite.runs: expected int"),
        (
            'argv = ["cat", "{input}"]',
            'argv = ["cat", "{input}", "{level}"]',
            13,
            "variant[0]: benchmark 'cat' uses {level} but variant 'a' has no vars.level",
        ),
    ],
)
def test_each_mistake_names_file_line_and_key(
    tmp_path: Path, old: str, new: str, line: int, key: str
) -> None:
    path = tmp_path / "perflab.toml"
    message = error_of(tmp_path, GOOD.replace(old, new))
    assert message.startswith(f"{path}:{line}: {key}"), message


def test_no_benchmark_and_missing_file(tmp_path: Path) -> None:
    assert "no [[benchmark]] table" in error_of(tmp_path, "[suite]\nname = 'x'\n")
    with pytest.raises(PerflabError, match="cannot read suite file"):
        load_suite(tmp_path / "absent.toml")


ADAPTIVE = """\
[suite]
min-runs = 4
max-time = 20
target-precision = 0.05

[[benchmark]]
name = "inherits"
command = "true"

[[benchmark]]
name = "own"
command = "true"
max-runs = 50

[[benchmark]]
name = "fixed"
command = "true"
runs = 7
"""


def test_adaptive_run_count_uses_bench_names_and_inherits(tmp_path: Path) -> None:
    from perflab.bench.scheduler import RunCount

    inherits, own, fixed = (b.settings for b in load_suite(write(tmp_path, ADAPTIVE)).benchmarks)
    assert inherits.count == RunCount(min_runs=4, max_time_s=20.0, target_precision=0.05)
    assert inherits.runs is None and inherits.planned_runs == 1000  # bench's default max-runs
    assert own.count == RunCount(min_runs=4, max_runs=50, max_time_s=20.0, target_precision=0.05)
    assert fixed.count == RunCount(runs=7) and fixed.planned_runs == 7


@pytest.mark.parametrize(
    ("table", "key", "reason"),
    [
        ("runs = 5\nmin-runs = 3", "min-runs", "'runs' fixes the run count"),
        ("min-runs = 10\nmax-runs = 5", "max-runs", "is below min-runs = 10"),
        ("target-precision = 1.5", "target-precision", "between 0 and 1"),
        ("max-time = 0", "max-time", "must be positive"),
        ("min-runs = 1", "min-runs", "at least 2"),
        ("min_runs = 3", "min_runs", "unknown key"),
    ],
)
def test_adaptive_mistakes_name_file_line_and_key(tmp_path: Path, table: str, key: str, reason: str) -> None:
    text = f'[[benchmark]]\nname = "x"\ncommand = "true"\n{table}\n'
    path = write(tmp_path, text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith(key))
    message = error_of(tmp_path, text)
    assert message.startswith(f"{path}:{line}: benchmark[0].{key}: ") and reason in message
