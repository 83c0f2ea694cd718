"""Exports: hyperfine's JSON schema exactly (checked against a real hyperfine 1.15 export), markdown, CSV."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.report.export import EXPORTERS, export_benchmark, import_hyperfine_json, render
from perflab.store.db import Store
from perflab.store.model import Benchmark, Run
from tests.report.helpers import real_benchmark, synthetic

DATA = Path(__file__).parent / "data"
HYPERFINE_FIELDS = ["command", "mean", "stddev", "median", "user", "system", "min", "max", "times",
                    "memory_usage_byte", "exit_codes", "parameters"]


def sample() -> Benchmark:
    a, b = synthetic("A", 0.01, 12, seed=1), synthetic("B", 0.013, 12, seed=2)
    a.parameters = {"size": "1"}
    b.parameters = {"size": "2"}
    return Benchmark(commands=[a, b], created_at="2026-11-23T00:00:00+00:00")


def test_json_has_hyperfines_fields_in_hyperfines_order(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    export_benchmark(sample(), path, "json")
    doc = json.loads(path.read_text())
    assert list(doc) == ["results"]
    for entry in doc["results"]:
        assert list(entry) == HYPERFINE_FIELDS
    real = json.loads((DATA / "hyperfine-1.15.json").read_text())["results"][0]
    # hyperfine 1.15 predates memory_usage_byte; every field it writes we write, in the same order
    assert [k for k in HYPERFINE_FIELDS if k in real] == list(real)
    for key in real:
        assert type(doc["results"][0][key]) is type(real[key]), key


def test_json_semantics_seconds_stddev_null_parameters(tmp_path: Path) -> None:
    b = sample()
    b.commands.append(synthetic("C", 0.02, 1))
    b.commands[2].runs[0].peak_rss_bytes = None
    b.commands[2].runs[0].exit_code = None
    b.commands[2].runs[0].signal = 9
    doc = json.loads(render(b, "json"))
    first = doc["results"][0]
    times = [r.wall_ns / 1e9 for r in b.commands[0].runs]
    assert first["times"] == times
    assert first["min"] == min(times) and first["max"] == max(times)
    assert first["mean"] == pytest.approx(sum(times) / len(times))
    assert first["user"] == pytest.approx(sum(r.user_s for r in b.commands[0].runs) / 12)
    assert first["parameters"] == {"size": "1"}
    single = doc["results"][2]
    assert single["stddev"] is None
    assert "memory_usage_byte" not in single  # unknown memory is omitted, as hyperfine does
    assert single["exit_codes"] == [None]
    assert "parameters" not in single


def test_round_trip_export_import_equal_samples(tmp_path: Path) -> None:
    original = real_benchmark([["true"], ["sleep", "0.002"]], runs=5)
    for c in original.commands:
        for r in c.runs:
            r.peak_rss_bytes = 1_000_000 + r.sequence
    path = tmp_path / "rt.json"
    export_benchmark(original, path, "json")
    imported = import_hyperfine_json(path)
    assert imported.kind == "import"
    for a, b in zip(original.commands, imported.commands, strict=True):
        assert [r.wall_ns for r in b.runs] == [r.wall_ns for r in a.runs]
        assert [r.peak_rss_bytes for r in b.runs] == [r.peak_rss_bytes for r in a.runs]
        assert [r.exit_code for r in b.runs] == [r.exit_code for r in a.runs]
        assert b.command == a.command
    # and the imported copy exports to the same document
    assert render(imported, "json") == path.read_bytes()
    with Store.open() as store:
        bid = store.save(imported)
        stored = store.get(bid).commands[1].runs
        assert [r.wall_ns for r in stored] == [r.wall_ns for r in original.commands[1].runs]


def test_import_real_hyperfine_file() -> None:
    b = import_hyperfine_json(DATA / "hyperfine-1.15.json")
    raw = json.loads((DATA / "hyperfine-1.15.json").read_text())["results"]
    assert [c.command for c in b.commands] == [r["command"] for r in raw]
    assert [r.wall_s for r in b.commands[0].runs] == pytest.approx(raw[0]["times"])
    assert b.commands[1].parameters == {"n": "2"}
    assert b.settings["per_run_cpu_times"] is False
    assert b.order == [0] * 5 + [1] * 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"results": [\n  {"command": "x",\n   "times": [0.1,]}\n]}', r"bad\.json:3:18: invalid JSON"),
        ('{"result": []}', r"bad\.json: missing field 'results'"),
        ('{"results": [{"times": [0.1]}]}', r"bad\.json: results\[0\]: missing field 'command'"),
        ('{"results": [{"command": "x"}]}', r"bad\.json: results\[0\]: missing field 'times'"),
        ('{"results": [{"command": "x", "times": ["a"]}]}', r"results\[0\]\.times\[0\]: expected a finite"),
        ('{"results": [{"command": "x", "times": [1], "exit_codes": [0, 1]}]}', r"exit_codes: expected a"),
        ("", r"bad\.json:1:1: invalid JSON"),
    ],
)
def test_malformed_import_names_file_and_place(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(PerflabError, match=message):
        import_hyperfine_json(path)


def test_markdown_and_csv() -> None:
    b = sample()
    md = render(b, "markdown").decode()
    assert md.splitlines()[0].startswith("| Command | Mean ± σ [ms] | Median [ms] (95% CI)")
    assert "| 1.00 (reference) |" in md and "→ slower" in md
    rows = list(csv.DictReader(io.StringIO(render(b, "csv").decode())))
    assert [r["command"] for r in rows] == ["A", "B"]  # the names, as hyperfine's CSV
    assert float(rows[0]["median_ci_low"]) <= float(rows[0]["median"]) <= float(rows[0]["median_ci_high"])
    assert rows[1]["parameter_size"] == "2"
    assert set(EXPORTERS) >= {"json", "markdown", "csv"}


def test_markdown_single_run_says_why_it_has_no_spread() -> None:
    b = Benchmark(commands=[synthetic("A", 0.01, 1), synthetic("B", 0.02, 12, seed=2)],
                  created_at="2026-11-23T00:00:00+00:00")
    row_a, row_b = render(b, "markdown").decode().splitlines()[2:4]
    assert "± n/a (n=1)" in row_a and "(no CI: n=1)" in row_a
    assert "± n/a" not in row_b and "[" in row_b  # 12 runs: a real sd and a median CI


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "keep.json"
    path.write_text("old")
    empty = Benchmark(commands=[synthetic("A", 0.01, 3)], created_at="t")
    empty.commands[0].runs = []
    with pytest.raises(PerflabError, match="has no runs"):
        export_benchmark(empty, path, "json")
    assert path.read_text() == "old"
    export_benchmark(sample(), path, "csv")
    assert path.read_text().startswith("command,")
    assert os.listdir(tmp_path) == ["keep.json"]  # no temp files left behind
    with pytest.raises(PerflabError, match="unknown export format 'xml'"):
        export_benchmark(sample(), path, "xml")


def test_unknown_run_fields_from_json_are_ignored(tmp_path: Path) -> None:
    b = sample()
    data = b.to_dict()
    data["commands"][0]["runs"][0]["future"] = 1
    path = tmp_path / "own.json"
    path.write_text(json.dumps(data))
    with Store.open() as store:
        assert store.resolve(str(path)).commands[0].runs[0] == Run(**b.to_dict()["commands"][0]["runs"][0])


def test_json_command_holds_the_name_as_hyperfine_writes_it() -> None:
    """plot_benchmark_comparison matches results across files by ``command``: with --name, hyperfine writes
    the name there; perflab wrote the command line, so a named run and a plain one could not be paired."""
    doc = json.loads(render(sample(), "json"))
    assert [r["command"] for r in doc["results"]] == ["A", "B"]


def test_dash_writes_the_export_to_stdout_not_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    monkeypatch.chdir(tmp_path)
    for fmt in ("json", "markdown", "asciidoc", "orgmode", "csv"):
        assert export_benchmark(sample(), "-", fmt) == "stdout"
        assert capsysbinary.readouterr().out == render(sample(), fmt)
    assert os.listdir(tmp_path) == []
    assert export_benchmark(sample(), tmp_path / "r.adoc", "asciidoc") == str(tmp_path / "r.adoc")


def test_asciidoc_and_orgmode_follow_hyperfines_layout() -> None:
    b = sample()
    b.commands[0].name = "a|b"
    adoc = render(b, "asciidoc").decode()
    assert adoc.startswith('[cols="<,>,>,>,>"]\n|===\n| Command \n| Mean ± σ [ms] \n')
    assert "| `+a\\|b+` \n" in adoc and "| 1.00 (reference) \n" in adoc
    table, _, rest = adoc.partition("|===\n\n")
    assert table.count("|===") == 1 and "Verdicts" in rest and "* B is 1." in rest
    org = render(b, "orgmode").decode().splitlines()
    assert org[0].startswith("| Command  |  Mean ± σ [ms] |  ") and org[1] == "|--+--+--+--+--|"
    assert org[2].startswith("| =a\\vert{}b=  |  ") and org[2].endswith(" |  1.00 (reference) |")
    assert "- B is 1." in org[org.index("Verdicts (alpha 0.05, noise band ±1 %):") + 2]


def test_exports_are_0644_and_new_dirs_0700_under_umask_000(tmp_path: Path) -> None:
    """Before the fix an export was 0666 under umask 000 (and missing directories 0777)."""
    from perflab.report.export import atomic_write

    target = tmp_path / "new" / "dir" / "out.json"
    old = os.umask(0)
    try:
        atomic_write(target, b"{}")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700
