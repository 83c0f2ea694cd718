"""The benchmark library session: options in, a stored, analysed result out, every output a reporter.
Real processes and the real SQLite store (per test, from conftest)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from perflab.bench.commands import Command
from perflab.bench.options import BenchOptions
from perflab.bench.scheduler import RunCount
from perflab.errors import OptionError, PerflabError
from perflab.lab.bench_session import BenchOutcome, BenchRequest, BenchSession
from perflab.report.reporters import FileReporter, JsonReporter
from perflab.store.db import Store


class Recorder:
    def __init__(self) -> None:
        self.seen: list[BenchOutcome] = []

    def report(self, outcome: BenchOutcome) -> None:
        self.seen.append(outcome)


def request(*argvs: list[str], runs: int = 5, **kwargs: object) -> BenchRequest:
    options = BenchOptions(count=RunCount(runs=runs), warmup=0, seed=3, capture_environment=False)
    return BenchRequest([Command.from_argv(a) for a in argvs], options, **kwargs)  # type: ignore[arg-type]


def test_session_stores_analysed_result_and_reports_it(tmp_path: Path) -> None:
    store = Store.open()
    recorder, stream = Recorder(), io.StringIO()
    markdown = tmp_path / "out.md"
    outcome = BenchSession(request(["true"], ["sleep", "0.002"]), store).run(
        reporters=[recorder, JsonReporter(stream), FileReporter(markdown, "markdown")]
    )
    assert recorder.seen == [outcome] and outcome.benchmark.status == "complete"
    stored = store.get(outcome.bench_id)
    assert [len(c.runs) for c in stored.commands] == [5, 5]
    assert stored.analysis["comparisons"][0]["candidate"] == "sleep 0.002"  # analysed before saving
    assert json.loads(stream.getvalue())["id"] in (None, outcome.bench_id)
    assert "sleep 0.002" in markdown.read_text()


def test_a_failed_run_is_stored_with_reason_and_remedies_not_flag_words() -> None:
    store = Store.open()
    outcome = BenchSession(request(["false"]), store).run()
    bench = store.get(outcome.bench_id)
    assert bench.status == "failed" and "exited with code 1 on run 1" in str(bench.message)
    assert "--" not in str(bench.message)  # flags are the CLI's words
    assert bench.settings["failure_remedies"] == ["show_output", "ignore_failure"]


def test_bad_options_raise_before_anything_runs(tmp_path: Path) -> None:
    store = Store.open()
    with pytest.raises(OptionError) as caught:
        BenchSession(request(["true"], alpha=1.5), store)
    assert caught.value.option == "alpha" and caught.value.value == 1.5
    with pytest.raises(PerflabError):
        BenchSession(request(["true"], baseline="no-such-baseline"), store)
    assert store.list() == []


def test_save_baseline_only_when_complete() -> None:
    store = Store.open()
    ok = BenchSession(request(["true"], save_baseline="main"), store).run()
    assert ok.saved_as_baseline == "main" and store.baselines() == {"main": ok.bench_id}
    failed = BenchSession(request(["false"], save_baseline="other"), store).run()
    assert failed.saved_as_baseline is None and "not saved as baseline 'other'" in failed.notices[0]
    assert "other" not in store.baselines()
