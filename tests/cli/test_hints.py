"""The CLI words the library's option errors and run-failure remedies as its own flags."""

from __future__ import annotations

from perflab.bench.scheduler import RunCount
from perflab.cli.hints import bench_failure_hints, cli_message, flag, tune_failure_hints
from perflab.errors import OptionError, PerflabError


def test_option_names_become_flags() -> None:
    assert flag("min_runs") == "--min-runs" and flag("max_time_s") == "--max-time"
    assert cli_message(OptionError("runs", 0, "must be at least 1")) == "--runs 0: must be at least 1"
    try:
        RunCount(min_runs=20, max_runs=10).validate()
    except OptionError as error:
        assert cli_message(error) == "--max-runs 10 is below --min-runs 20"
    else:
        raise AssertionError("max_runs below min_runs must be refused")
    assert cli_message(PerflabError("plain")) == "plain"


def test_each_command_words_its_own_remedies() -> None:
    remedies = ("show_output", "ignore_failure")
    assert bench_failure_hints(remedies) == (" (use --show-output to see its output); "
                                             "use --ignore-failure to keep going")
    tune = tune_failure_hints(remedies)
    assert "--ignore-failure" not in tune and "--show-output" not in tune
    assert "give a longer --timeout" in tune_failure_hints(("timeout_s", "ignore_failure"))
