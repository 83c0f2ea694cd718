"""Terminal rendering: verdict lines, uncertainty on every figure, NO_COLOR."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from perflab.analysis.benchmark import analyze, compare_benchmarks
from perflab.report.format import fmt_with_ci, time_unit
from perflab.report.terminal import print_benchmark, print_comparison, verdict_line
from perflab.store.model import Benchmark
from tests.report.helpers import real_benchmark, synthetic


def render(fn, *args) -> str:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    fn(Console(file=buf, width=200, force_terminal=True), *args)
    return buf.getvalue()


def colour_codes(text: str) -> list[str]:
    """SGR parameters that set a foreground/background colour (bold and italic are not colour)."""
    params = [p for seq in re.findall(r"\x1b\[([0-9;]*)m", text) for p in seq.split(";") if p]
    return [p for p in params if p.isdigit() and (30 <= int(p) <= 49 or 90 <= int(p) <= 107)]


def test_real_ab_renders_verdict_and_uncertainty() -> None:
    """Real processes: the verdict line is asserted for whatever verdict the timings gave (the wording of
    each verdict is checked on fixed figures in test_verdict_line_wording)."""
    b = real_benchmark([["sleep", "0.010"], ["sleep", "0.020"]], runs=15)
    analysis = analyze(b, seed=1)
    text = render(print_benchmark, b, analysis)
    (cmp,) = analysis["comparisons"]
    assert re.search(r"sleep 0\.020 (is \d+\.\d+× (slower|faster) than|≈) sleep 0\.010 \(B/A ", text), text
    assert f"→ {cmp['verdict']}" in text
    assert "Median [95% CI]" in text and "Mean ± σ" in text and "±" in text
    # memory was not measured by this helper: the table says so instead of printing a number
    assert "n/a: peak memory was not measured" in text
    assert colour_codes(text) == []  # NO_COLOR=1 (conftest): styles may stay, colours go


def test_colour_only_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    b = Benchmark(commands=[synthetic("A", 0.01, 20, seed=1), synthetic("B", 0.013, 20, seed=2)],
                  created_at="2026-11-23T00:00:00+00:00")
    assert colour_codes(render(print_benchmark, b)) == []
    monkeypatch.delenv("NO_COLOR")
    assert "31" in colour_codes(render(print_benchmark, b))  # red "slower" when colour is allowed


def test_verdict_line_wording() -> None:
    line = verdict_line({"candidate": "B", "baseline": "A", "ratio": 1.29, "ratio_ci": [1.27, 1.31],
                         "p_adjusted": 0.0012, "verdict": "slower", "metric": "wall", "family_size": 1})
    assert line == "B is 1.29× slower than A (B/A 1.290 [1.270, 1.310]), p=0.001 → slower"
    faster = verdict_line({"candidate": "B", "baseline": "A", "ratio": 0.8, "ratio_ci": [0.75, 0.8],
                           "p_adjusted": None, "verdict": "inconclusive", "metric": "wall"})
    assert faster == "B is 1.25× faster than A (B/A 0.800 [0.750, 0.800]), p n/a → inconclusive"


def test_a_ratio_that_rounds_to_one_is_never_called_slower_or_faster() -> None:
    """Observed: "1.00× slower", and "1.00× faster [0.99, 1.02]" beside a table showing B/A = 0.998."""
    for ratio in (0.998, 1.004):
        line = verdict_line({"candidate": "B", "baseline": "A", "ratio": ratio, "ratio_ci": [0.99, 1.02],
                             "p_adjusted": 0.6, "verdict": "no significant change", "metric": "wall"})
        assert "× slower" not in line and "× faster" not in line
        assert line.startswith("B ≈ A (B/A ") and "[0.990, 1.020]" in line


def test_a_zero_median_is_reported_as_below_resolution_not_divided_by() -> None:
    """Observed: --shell with a fast command, median 0 after the spawn cost → ZeroDivisionError."""
    for ci in ([0.0, 0.0], [0.0, 0.4], [None, None]):
        line = verdict_line({"candidate": "B", "baseline": "A", "ratio": 0.0, "ratio_ci": ci,
                             "p_adjusted": 0.01, "verdict": "faster", "metric": "wall"})
        assert "median time is 0, below the timer's resolution" in line
    lo_zero = verdict_line({"candidate": "B", "baseline": "A", "ratio": 0.5, "ratio_ci": [0.0, 0.9],
                            "p_adjusted": 0.01, "verdict": "faster", "metric": "wall"})
    assert lo_zero.startswith("B is 2.00× faster than A (B/A 0.500 [0.000, 0.900])")


def test_single_run_says_why_no_uncertainty() -> None:
    b = Benchmark(commands=[synthetic("A", 0.01, 1)], created_at="2026-11-23T00:00:00+00:00")
    text = render(print_benchmark, b)
    assert "(no CI: n=1)" in text and "± n/a (n=1)" in text


def test_print_comparison() -> None:
    a = Benchmark(commands=[synthetic("A", 0.01, 20, seed=1)], created_at="t1", id=1)
    b = Benchmark(commands=[synthetic("A", 0.012, 20, seed=2)], created_at="t2", id=2)
    text = render(print_comparison, compare_benchmarks(a, b, seed=1))
    assert "A = #1" in text and "B = #2" in text
    assert "A (B) is 1.2" in text and "than A (A)" in text and "→ slower" in text
    unsaved = render(print_comparison, compare_benchmarks(Benchmark(commands=a.commands, created_at="t1"),
                                                          Benchmark(commands=b.commands, created_at="t2")))
    assert "B = unsaved result B (t2)" in unsaved  # was "B = B (t2)"
    assert analyze(b)["commands"][0]["wall"]["n"] == 20


def test_crypto_benchmark_renders_figures_with_ci_and_unavailable_reasons() -> None:
    """A stored `perflab crypto bench` result (no command runs) renders from its analysis, not as an
    empty command table; figures come from a real (userspace, small) measurement."""
    from perflab.kernel.crypto_bench import BenchSettings, run_bench, to_benchmark

    settings = BenchSettings(algorithms=["sha256", "crc32c"], sizes=[64], samples=3, min_sample_s=0.001)
    bench = to_benchmark(run_bench(settings, userspace=True), settings, userspace=True)
    text = render(print_benchmark, bench)
    assert "(crypto, " in text and "Median [95% CI]" not in text
    assert "sha256 — userspace (hashlib" in text and "95% CI of median" in text and " … " in text
    assert "Not measured" in text and "zlib.crc32" in text  # crc32c userspace: unavailable, with why
    assert f"AF_ALG: {bench.analysis['crypto']['af_alg']}" in text
    bench.analysis = {}
    assert "no crypto results stored" in render(print_benchmark, bench)


def _render_at(width: int, fn, *args) -> str:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    fn(Console(file=buf, width=width), *args)
    return buf.getvalue()


def test_80_columns_cut_nothing_a_user_needs() -> None:
    """Observed in a pipe: CIs cut to ``[3483… 44382…]``, verdicts to ``inconclusi…``."""
    a = synthetic("a-rather-long-command-name --with --flags", 34.8, 20, cv=0.4, seed=1)
    b = synthetic("another-long-command --with --other --flags", 44.4, 20, cv=0.4, seed=2)
    bench = Benchmark(commands=[a, b], created_at="2026-11-23T00:00:00+00:00")
    analysis = analyze(bench, seed=1)
    text = _render_at(80, print_benchmark, bench, analysis)
    assert max(len(line) for line in text.splitlines()) <= 80
    for cmd in analysis["commands"]:
        wall = cmd["wall"]
        for figure in (fmt_with_ci(wall, "median", time_unit(wall["median"])),
                       fmt_with_ci(wall, "mean", time_unit(wall["median"]))):
            assert figure in text, figure  # whole, on one line
    assert "observed extremes: no CI" in text and "CPU user:" in text
    cmp = compare_benchmarks(Benchmark(commands=[a], created_at="t1", id=1),
                             Benchmark(commands=[b], created_at="t2", id=2), force=True)
    table = _render_at(80, print_comparison, cmp)
    verdict = cmp["comparisons"][0]["verdict"]
    assert verdict.split()[0] in table and "…" not in table


def test_every_figure_in_the_table_carries_its_uncertainty() -> None:
    """Mean ± σ, user/sys and min…max had no interval and said nothing about why."""
    b = Benchmark(commands=[synthetic("A", 0.01, 20, seed=1)], created_at="2026-11-23T00:00:00+00:00")
    text = render(print_benchmark, b)
    assert "(mean's 95% CI)" in text
    assert "user " in text and "sys " in text and "observed extremes: no CI" in text
    wall = analyze(b)["commands"][0]["wall"]
    assert fmt_with_ci(wall, "mean", time_unit(wall["median"])).split(" ", 1)[1] in text


def test_crypto_reasons_shared_by_many_rows_are_written_once() -> None:
    """Observed: ``crypto bench`` repeated one AF_ALG reason 7 times in ~90 lines."""
    from perflab.report.terminal import print_crypto_results

    why = "AF_ALG is not available: the kernel lacks CONFIG_CRYPTO_USER_API_HASH (EAFNOSUPPORT)"
    rows = [{"algorithm": f"alg{i}", "source": "kernel", "status": "unavailable", "reason": why,
             "active_driver": None, "enable_config": []} for i in range(7)]
    rows.append({"algorithm": "crc32c", "source": "userspace", "status": "unavailable",
                 "reason": "no userspace implementation", "enable_config": []})
    text = _render_at(200, print_crypto_results, rows)
    assert text.count(why) == 1 and text.count("[1]") == 8  # seven citations and the note
    assert "no userspace implementation" in text  # a reason given once stays in its row


def test_a_table_wider_than_the_console_becomes_blocks_with_every_cell_whole() -> None:
    """print_table, the one narrow layout of every command: no word folded (``inconclusiv|e``), no line
    over the width, every cell (timestamps, CIs, verdicts) whole on its line; a table that fits stays."""
    from rich.table import Table

    from perflab.report.terminal import print_table

    cells = ["kernel.perf_event_max_sample_rate", "2026-11-29T18:30:11+00:00", "1.023 [0.998, 1.047]",
             "no significant change", "/proc/sys/kernel/nmi_watchdog is read-only (mode 0444) " * 2]
    table = Table(title="Candidate vs baseline (ratio of medians, 95 % bootstrap CI)")
    for header in ("knob", "when", "ratio [CI]", "verdict", "why not"):
        table.add_column(header, overflow="fold")
    table.add_row(*cells)
    for width in (80, 60):
        text = _render_at(width, print_table, table)
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= width
        for cell in cells[:4]:
            assert any(cell in line for line in lines), cell
        assert " ".join(cells[4].split()) in " ".join(text.split())  # the long one wraps between words
        assert "Candidate vs baseline" in text and "ratio [CI]:" in text and "┏" not in text
    small = Table(title="t")
    small.add_column("a")
    small.add_row("1.023 [0.998, 1.047]")
    assert "┏" in _render_at(80, print_table, small)  # it fits: still a table


def test_compare_at_80_columns_keeps_ratio_ci_and_verdict_whole() -> None:
    a = synthetic("a-rather-long-command-name --with --flags", 34.8, 20, cv=0.4, seed=1)
    b = synthetic("another-long-command --with --other --flags", 44.4, 20, cv=0.4, seed=2)
    cmp = compare_benchmarks(Benchmark(commands=[a], created_at="2026-11-23T00:00:00+00:00", id=1),
                             Benchmark(commands=[b], created_at="2026-11-23T00:01:00+00:00", id=2),
                             force=True)
    text = _render_at(80, print_comparison, cmp)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    c = cmp["comparisons"][0]
    lo, hi = c["ratio_ci"]
    for whole in (f"{c['ratio']:.3f} [{lo:.3f}, {hi:.3f}]", "2026-11-23T00:00:00+00:00",
                  "2026-11-23T00:01:00+00:00"):
        assert any(whole in line for line in lines), whole
    assert re.search(rf"^  Verdict: +{c['verdict']}$", text, re.MULTILINE)
