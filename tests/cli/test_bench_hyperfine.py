"""`alias hyperfine='perflab bench'`: hyperfine 1.20's options with hyperfine's meaning, after its own
tests/integration_tests.rs and execution_order_tests.rs (read, not vendored). Real processes and store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perflab import __version__
from perflab.cli.bench_args import SHELL_PROGRAM, rewrite
from tests.cli.test_bench_cli import cli

Cap = pytest.CaptureFixture[str]


def test_can_run_commands_without_a_shell(capsys: Cap) -> None:
    """hyperfine's can_run_commands_without_a_shell; the output goes to stdout, as hyperfine's."""
    for flag in ("--shell=none", "-N"):
        code, out, err = cli(capsys, "bench", "--runs=1", "-w", "0", "--show-output", flag,
                             "echo 'hello world' argument2")
        assert code == 0, err
        assert "hello world argument2" in out and "hello world argument2" not in err


def test_shows_output_of_benchmarked_command_on_stdout(capsys: Cap) -> None:
    code, out, err = cli(capsys, "bench", "--runs=2", "-w", "0", "--command-name=dummy", "--show-output",
                         "printf '%s%s\\n' 4fd4 7015")
    assert code == 0, err
    assert out.count("4fd47015") == 2 and "4fd47015" not in err


def test_runs_commands_using_user_defined_shell(capsys: Cap) -> None:
    """hyperfine's runs_commands_using_user_defined_shell: ``--shell "echo …" CMD`` takes the shell."""
    code, out, err = cli(capsys, "bench", "--runs=1", "-w", "0", "--show-output", "--shell",
                         "echo 'custom_shell' '--shell-arg'", "echo benchmark")
    assert code == 0, err
    assert "custom_shell --shell-arg -c echo benchmark" in out
    code, out, err = cli(capsys, "bench", "--runs=1", "-w", "0", "--show-output", "-S", "bash",
                         'echo "shell=$0"')
    assert code == 0, err
    assert "shell=/usr/bin/bash" in out or "shell=bash" in out


def test_shell_flag_form_still_means_sh() -> None:
    """``perflab bench --shell 'a | b'`` (nothing after): the flag; ``--shell bash 'cmd'``: the shell."""
    value_opts = {"--runs", "-r"}
    assert rewrite(["--shell", "echo x >> f"], value_opts) == ["--shell", "echo x >> f"]
    assert rewrite(["--shell", "--runs=2", "echo x"], value_opts) == ["--shell", "--runs=2", "echo x"]
    assert rewrite(["--shell", "bash", "-r", "2", "echo x"], value_opts) == \
        [SHELL_PROGRAM, "bash", "-r", "2", "echo x"]
    assert rewrite(["--shell=none", "x"], value_opts) == [SHELL_PROGRAM, "none", "x"]
    assert rewrite(["-Sbash", "x"], value_opts) == [SHELL_PROGRAM, "bash", "x"]
    assert rewrite(["--shell", "no-such-program-7f3a", "x"], value_opts) == \
        ["--shell", "no-such-program-7f3a", "x"]


def test_can_ignore_specific_exit_codes(capsys: Cap) -> None:
    """hyperfine's can_ignore_specific_exit_codes / multiple / all-non-zero."""
    for codes, command, ok in (("1", "exit 1", True), ("1", "exit 2", False), ("1,2,3", "exit 3", True),
                               ("1,2,3", "exit 4", False), ("all-non-zero", "exit 5", True)):
        code, _, err = cli(capsys, "bench", "--shell", "--runs=1", "-w", "0", "-q",
                           f"--ignore-failure={codes}", command)
        assert (code == 0) is ok, (codes, command, err)
        if not ok:
            assert "exited with code" in err
    code, _, err = cli(capsys, "bench", "--runs=1", "--ignore-failure=x", "true")
    assert code == 1 and "--ignore-failure=x: expected exit codes" in err


def test_reference_command_is_first_and_named(capsys: Cap) -> None:
    """hyperfine's shows_reference_name and the prepare-count rules with --reference."""
    code, out, err = cli(capsys, "bench", "--runs=3", "-w", "0", "--json", "--reference=sleep 0.002",
                         "--reference-name=refabc123", "true", "sleep 0.001")
    assert code == 0, err
    data = json.loads(out)
    assert [c["name"] for c in data["commands"]] == ["refabc123", "true", "sleep 0.001"]
    assert {c["baseline"] for c in data["analysis"]["comparisons"]} == {"refabc123"}
    code, _, err = cli(capsys, "bench", "--runs=1", "-q", "--prepare=true", "--prepare=true",
                       "--prepare=true", "--reference=true", "true", "true --version")
    assert code == 0, err
    code, _, err = cli(capsys, "bench", "--runs=1", "-q", "--prepare=true", "--prepare=true",
                       "--reference=true", "true", "true --version")
    assert code == 1 and "2 --prepare given for 2 commands and a --reference" in err
    code, _, err = cli(capsys, "bench", "--runs=1", "--reference-name=x", "true")
    assert code == 1 and "--reference-name needs --reference" in err


def test_conclude_runs_after_each_run_and_warmup(capsys: Cap, tmp_path: Path) -> None:
    log = tmp_path / "log"
    code, _, err = cli(capsys, "bench", "--runs=2", "--warmup=1", "-q", "--shell",
                       f"--conclude=echo conclude >> {log}", f"echo command >> {log}")
    assert code == 0, err
    assert log.read_text().split() == ["command", "conclude"] * 3


def test_sequential_order_runs_each_command_as_a_whole(capsys: Cap, tmp_path: Path) -> None:
    """hyperfine's setup_prepare_cleanup_combined order, with --order sequential."""
    log = tmp_path / "log"
    code, out, err = cli(capsys, "bench", "--order", "sequential", "--runs=2", "--warmup=1", "--json",
                         "--shell", f"--setup=echo setup >> {log}", f"--cleanup=echo cleanup >> {log}",
                         f"echo command1 >> {log}", f"echo command2 >> {log}")
    assert code == 0, err
    assert log.read_text().split() == ["setup", "command1", "command1", "command1", "cleanup",
                                       "setup", "command2", "command2", "command2", "cleanup"]
    data = json.loads(out)
    assert data["order"] == [0, 0, 1, 1] and data["settings"]["order"] == "sequential"
    assert [len(c["runs"]) for c in data["commands"]] == [2, 2]
    assert len(data["analysis"]["comparisons"]) == 1


def test_exports_to_stdout_and_says_where_they_went(capsys: Cap, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """hyperfine's intermediate_results_are_not_exported_to_stdout: only the export on stdout."""
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "bench", "--runs=2", "-w", "0", "--style=none", "--export-markdown", "-",
                         "sleep 0.001", "sleep 0.002")
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(rows) == 2 and out.startswith("| Command")  # one table, once; nothing else on stdout
    assert "markdown export written to stdout" in err
    code, out, err = cli(capsys, "bench", "--runs=2", "-w", "0", "-q", "--export-json", "-",
                         "--export-orgmode", "r.org", "--export-asciidoc", "r.adoc", "true")
    assert code == 0, err
    assert json.loads(out)["results"][0]["command"] == "true"
    assert "orgmode export written to r.org" in err and "asciidoc export written to r.adoc" in err
    assert not (tmp_path / "-").exists()  # was: a file named '-'
    assert (tmp_path / "r.org").read_text().startswith("| Command  |")


def test_time_unit_and_sort(capsys: Cap, tmp_path: Path) -> None:
    md = tmp_path / "r.md"
    code, out, err = cli(capsys, "bench", "--runs=3", "-w", "0", "-u", "microsecond", "--sort=mean-time",
                         "--export-markdown", str(md), "sleep 0.02", "true")
    assert code == 0, err
    assert out.index("true") < out.index("sleep 0.02")  # fastest first
    assert "µs" in out.split("Comparisons")[0]  # both rows in microseconds, sleep 0.02 too
    text = md.read_text()
    assert "Mean ± σ [µs]" in text and text.index("`true`") < text.index("`sleep 0.02`")
    code, _, err = cli(capsys, "bench", "--runs=1", "-u", "hour", "true")
    assert code == 1 and "--time-unit hour: choose from" in err


def test_input_dev_null_output_file_step_size_and_version(capsys: Cap, tmp_path: Path) -> None:
    code, _, err = cli(capsys, "bench", "--runs=1", "-w", "0", "-q", "--input", "/dev/null", "cat")
    assert code == 0, err
    target = tmp_path / "out.txt"
    code, _, err = cli(capsys, "bench", "--runs=1", "-w", "0", "-q", f"--output={target}", "echo hi-there")
    assert code == 0, err
    assert target.read_text() == "hi-there\n"
    code, out, err = cli(capsys, "bench", "--runs=1", "-w", "0", "--json", "-P", "n", "1", "5",
                         "--parameter-step-size", "2", "sleep 0.00{n}")
    assert code == 0, err
    assert [c["parameters"]["n"] for c in json.loads(out)["commands"]] == ["1", "3", "5"]
    code, out, _ = cli(capsys, "bench", "-V")
    assert code == 0 and out.strip() == f"perflab {__version__}"
    code, out, _ = cli(capsys, "bench", "-h")
    assert code == 0 and "--reference" in out and "--export-orgmode" in out


def test_min_benchmarking_time_keeps_measuring_past_precision() -> None:
    from perflab.bench.scheduler import RunCount, StopRule

    steady = [[1.0] * 40]
    rule = StopRule(RunCount(min_runs=10, max_time_s=60, min_time_s=3.0))
    assert not rule.decide(40, 1.0, steady).stop  # precise, but only 1 s of the 3 measured
    assert rule.decide(42, 3.5, [[1.0] * 42]).stop


def test_shell_syntax_without_a_shell_is_one_line_and_nothing_runs(capsys: Cap, tmp_path: Path) -> None:
    """Observed: ``perflab bench 'echo a | wc -c'`` ran echo with the arguments ``a | wc -c``."""
    code, out, err = cli(capsys, "bench", "--runs=1", f"echo a > {tmp_path}/f")
    assert code == 1 and not (tmp_path / "f").exists()
    assert err.count("\n") == 1 and "contains a redirection '>'" in err and "--shell" in err
