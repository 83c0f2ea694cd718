"""Golden structure: the page for the fixed store lists exactly the results, commands, medians, CIs,
ratios and verdicts the store holds, read back from the HTML and compared with the store itself."""

from __future__ import annotations

from pathlib import Path

from perflab.store.db import Store
from perflab.store.method import MethodRecords
from tests.report.html.fixed_store import SCRIPT_NAME
from tests.report.html.page_parser import facts


def _f(text: str) -> float | None:
    return None if text == "None" else float(text)


def _stored(url: str) -> list:
    with Store.open(url) as store:
        return [store.get(row.id) for row in reversed(store.list(limit=1000))]


def test_the_page_lists_exactly_the_stored_results(fixed: tuple[str, Path]) -> None:
    url, page = fixed
    found = facts(page.read_text())
    stored = _stored(url)
    assert [(r["data-result"], r["data-kind"]) for r in found.results] == [
        (str(b.id), b.kind) for b in stored]
    assert {b.kind for b in stored} == {"bench", "tune-try", "crypto", "experiment", "suite", "anns"}


def test_every_command_median_and_ci_is_the_stored_one(fixed: tuple[str, Path]) -> None:
    url, page = fixed
    found = facts(page.read_text())
    expected = []
    for b in _stored(url):
        if b.kind in ("bench", "experiment"):
            for cmd in b.analysis["commands"]:
                wall = cmd["wall"]
                expected.append((str(b.id), cmd["name"], wall["n"], wall["median"], *wall["median_ci"]))
    shown = [(c["result"], c["name_text"], int(c["data-n"]), _f(c["data-median"]), _f(c["data-ci-low"]),
              _f(c["data-ci-high"])) for c in found.commands if c["result"] in {e[0] for e in expected}]
    assert shown == expected
    assert all(c["data-name"] == c["name_text"] for c in found.commands)


def test_every_verdict_ratio_and_ci_is_the_stored_one(fixed: tuple[str, Path]) -> None:
    url, page = fixed
    found = facts(page.read_text())
    expected = []
    for b in _stored(url):
        for c in b.analysis.get("comparisons") or []:
            c = {**c, **(c.get("comparison") or {})}  # a tune trial nests its comparison
            expected.append((str(b.id), c["candidate"], c["metric"], c["verdict"], c["ratio"],
                             *c["ratio_ci"]))
    shown = [(c["result"], c["data-candidate"], c["data-metric"], c["verdict"], _f(c["data-ratio"]),
              _f(c["data-ci-low"]), _f(c["data-ci-high"])) for c in found.comparisons]
    assert sorted(shown, key=lambda row: int(row[0])) == expected  # sections group kinds; ids stay in order
    verdicts = {e[3] for e in expected}
    assert "slower" in verdicts and verdicts - {"slower"}, verdicts  # the fixed store holds both kinds
    for c in found.comparisons:  # the word is always there; a mark only for significant verdicts
        assert c["verdict"] in c["verdict_text"]


def test_sections_have_headings_and_anchors(fixed: tuple[str, Path]) -> None:
    _, page = fixed
    found = facts(page.read_text())
    sections = {"overview", "method", "suites", "history", "benchmarks", "comparisons", "tune-try", "crypto",
                "anns"}
    assert sections <= found.ids
    assert found.tags.get("script", 0) == 0 and found.tags.get("img", 0) == 0
    assert found.tags["svg"] == 15  # samples of 7 results (2 bench, 2 experiment, trial, 2 suites),
    # comparisons, trials, crypto, 2 suite speedups, 2 histories, anns curve
    assert found.tags["details"] >= 4  # the environment of each result


def test_tracker_and_ideas_are_the_stored_records(fixed: tuple[str, Path]) -> None:
    url, page = fixed
    found = facts(page.read_text())
    with Store.open(url) as store:
        records = MethodRecords(store)
        experiments = [(str(e.id), e.verdict or "", e.record.get("decision", {}).get("gain"))
                       for e in records.experiments()]
        ideas = {str(i.id): i.title for i in records.ideas()}
    assert [(e["data-experiment"], e["data-verdict"], _f(e["data-gain"])) for e in found.experiments] == \
        experiments
    assert {i["data-idea"]: i["name_text"] for i in found.ideas} == ideas
    assert len(experiments) == 1 and len(ideas) == 2


def test_suite_table_holds_the_stored_speedups_total_and_geomean(fixed: tuple[str, Path]) -> None:
    url, page = fixed
    found = facts(page.read_text())
    suite = next(b for b in _stored(url) if b.kind == "suite")
    analysis = suite.analysis
    rows = [(r["benchmark"], r["input"]) for r in analysis["rows"]]
    assert [(r["data-benchmark"], r["data-input"]) for r in found.suite_rows
            if r["result"] == str(suite.id)] == rows
    expected = [(r["speedups"]["default"]["wall"]["speedup"], *r["speedups"]["default"]["wall"]["speedup_ci"],
                 r["speedups"]["default"]["wall"]["verdict"]) for r in analysis["rows"]]
    shown = [(_f(s["data-speedup"]), _f(s["data-ci-low"]), _f(s["data-ci-high"]), s["verdict"])
             for s in found.speedups if s["result"] == str(suite.id)]
    assert shown == expected
    verdicts = {v for *_, v in expected}  # gzip gains; the other benchmark's variants are equal
    assert "faster" in verdicts and verdicts & {"no significant change", "inconclusive"}
    assert found.row_heads.count("TOTAL") == 2 and found.row_heads.count("Geometric mean") == 2
    html = page.read_text()
    geo = analysis["totals"]["wall"]["geomean_speedup"]["default"]
    assert f"{geo['value']:.3f} [{geo['ci'][0]:.3f}, {geo['ci'][1]:.3f}]×" in html


def test_every_anns_engine_is_listed_with_its_run_mode(fixed: tuple[str, Path]) -> None:
    url, page = fixed
    html = page.read_text()
    found = facts(html)
    anns = next(b for b in _stored(url) if b.kind == "anns").analysis["anns"]
    assert [e["data-engine"] for e in found.anns_engines] == list(anns["engines"])  # not installed too
    for name, engine in anns["engines"].items():
        row = next(e for e in found.anns_engines if e["data-engine"] == name)
        assert row["data-run-mode"] == (engine.get("run_mode") or "unknown")
    assert "emulated</span>" in html  # bruteforce runs as an emulation in Python and says so


def test_history_lists_every_stored_point_and_the_steps_the_analysis_found(fixed: tuple[str, Path]) -> None:
    from perflab.lab.history import benchmark_history

    url, page = fixed
    found = facts(page.read_text())
    expected = []
    with Store.open(url) as store:
        for name in ("gzip", SCRIPT_NAME):  # the suite's benchmarks, stored twice
            for cell in [c for c in benchmark_history(store, name) if len(c.points) >= 2]:
                steps = {s.index for s in cell.steps}
                expected += [(name, cell.input, cell.variant, str(p.benchmark_id), s.median, i in steps)
                             for i, (p, s) in enumerate(zip(cell.points, cell.summaries, strict=True))]
    shown = [(h["benchmark"], h["input"], h["variant"], h["data-result"], _f(h["data-median"]),
              h["data-step"] == "yes") for h in found.history]
    assert sorted(shown, key=str) == sorted(expected, key=str)
    stepped = {(b, i, v) for b, i, v, _, _, step in expected if step}
    assert ("gzip", "text", "default") in stepped  # the planted 1.5× slowdown
    assert not any(b == SCRIPT_NAME for b, _, _ in stepped)  # nothing changed there
