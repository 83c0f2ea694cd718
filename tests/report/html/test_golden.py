"""Golden structure: the page for the fixed store lists exactly the results, commands, medians, CIs,
ratios and verdicts the store holds, read back from the HTML and compared with the store itself."""

from __future__ import annotations

from pathlib import Path

from perflab.store.db import Store
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
    assert {b.kind for b in stored} == {"bench", "tune-try", "crypto"}


def test_every_command_median_and_ci_is_the_stored_one(fixed: tuple[str, Path]) -> None:
    url, page = fixed
    found = facts(page.read_text())
    expected = []
    for b in _stored(url):
        if b.kind == "bench":
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
    assert shown == expected
    verdicts = {e[3] for e in expected}
    assert "slower" in verdicts and verdicts - {"slower"}, verdicts  # the fixed store holds both kinds
    for c in found.comparisons:  # the word is always there; a mark only for significant verdicts
        assert c["verdict"] in c["verdict_text"]


def test_sections_have_headings_and_anchors(fixed: tuple[str, Path]) -> None:
    _, page = fixed
    found = facts(page.read_text())
    assert {"overview", "benchmarks", "comparisons", "tune-try", "crypto"} <= found.ids
    assert found.tags.get("script", 0) == 0 and found.tags.get("img", 0) == 0
    assert found.tags["svg"] == 6  # samples of 3 results (2 bench, 1 trial), comparisons, trials, crypto
    assert found.tags["details"] >= 4  # the environment of each result
