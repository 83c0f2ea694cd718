"""Emulated timings are labelled on the page: a `perflab vm bench` result run under TCG carries the label
in its settings (lab.vm_bench) and the page shows it in the overview and above its figures."""

from __future__ import annotations

from pathlib import Path

from perflab.analysis.benchmark import analyze
from perflab.lab.report_session import write_report
from perflab.store.db import Store
from perflab.store.model import Benchmark
from tests.report.helpers import synthetic


def test_a_tcg_vm_result_is_labelled_emulated(tmp_path: Path) -> None:
    bench = Benchmark(commands=[synthetic("6.1 · emulated (TCG)", 0.02, 8, seed=1),
                                synthetic("6.12 · emulated (TCG)", 0.021, 8, seed=2)],
                      created_at="2026-11-29T10:00:00+00:00", kind="vm-bench",
                      settings={"vm": True, "accel": "tcg", "label": "emulated (TCG)",
                                "accel_reason": "KVM guests hang here"})
    bench.analysis = analyze(bench, seed=1, n_boot=200)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    plain = Benchmark(commands=[synthetic("native", 0.02, 8, seed=3)], created_at="2026-11-29T11:00:00+00:00")
    plain.analysis = analyze(plain, seed=1, n_boot=200)
    with Store.open(url) as store:
        store.save(bench)
        store.save(plain)
    page = tmp_path / "page.html"
    write_report(page, db=url)
    html = page.read_text()
    assert '<span class="badge" title="emulated (TCG): KVM guests hang here">emulated</span>' in html
    assert "Emulated timings: emulated (TCG): KVM guests hang here" in html
    assert html.count(">emulated</span>") == 2  # the VM result's overview row and heading; not the native one
