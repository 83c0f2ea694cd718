"""A perflab.toml suite whose variants are two real Debian kernels booted by real QEMU (TCG): boots
alternate in randomized blocks, the stored suite table carries CIs, and every figure is labelled emulated.

Small on purpose (three boots per kernel, a shell loop): what must always hold is asserted, never a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perflab.lab.suite_vm import VM_METRICS
from perflab.store.db import Store

pytestmark = pytest.mark.slow
TCG = "emulated (TCG): not hardware performance"
BOOTS = 3


def perflab(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "perflab", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "300"})  # one table row per line


def test_two_kernels_as_suite_variants_give_a_stored_labelled_table(generic_deb: Path, rt_deb: Path,
                                                                    tmp_path: Path) -> None:
    suite = tmp_path / "perflab.toml"
    suite.write_text(f"""\
[suite]
name = "kernels"
runs = {BOOTS}
warmup = 0
seed = 11

[[benchmark]]
name = "loop"
argv = ["sh", "-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; echo given=$GIVEN"]

[[metric]]
name = "given"
regex = "given=([0-9]+)"

[[variant]]
name = "generic"
vm = {{ kernel = "{generic_deb}", accel = "tcg" }}
env = {{ GIVEN = "7" }}

[[variant]]
name = "rt"
vm = {{ kernel = "{rt_deb}", accel = "tcg", runs_per_boot = 2 }}
env = {{ GIVEN = "9" }}
""")
    db = f"sqlite:///{tmp_path / 'suite.db'}"
    markdown = tmp_path / "table.md"
    done = perflab("suite", "run", "--suite", str(suite), "--db", db, "-q",
                   "--export-markdown", str(markdown))
    assert done.returncode == 0, done.stderr
    assert TCG in done.stdout and "generic · emulated (TCG)" in done.stdout
    text = markdown.read_text()
    assert TCG in text and "| rt · emulated (TCG) |" in text

    with Store.open(db) as store:
        (listing,) = store.list()
        stored = store.get(listing.id)
    assert stored.kind == "suite" and stored.status == "complete"
    s = stored.settings
    assert s["label"] == TCG and s["emulated_variants"] == ["generic", "rt"]
    assert {name: (v["accel"], len(v["boots"])) for name, v in s["vm"].items()} == {
        "generic": ("tcg", BOOTS), "rt": ("tcg", BOOTS)}
    assert all(b["status"] == "ok" for v in s["vm"].values() for b in v["boots"])
    assert all(b["clocksource"] in ("tsc", "tsc-early") for v in s["vm"].values() for b in v["boots"])
    assert [len(b["guest_s"]) for b in s["vm"]["rt"]["boots"]] == [2] * BOOTS  # runs_per_boot

    # boots are the unit of replication and alternate: each block boots each kernel once
    runs = sorted((r for c in stored.commands for r in c.runs), key=lambda r: r.sequence)
    assert len(runs) == 2 * BOOTS
    assert all({runs[2 * k].variant, runs[2 * k + 1].variant} == {"generic", "rt"} for k in range(BOOTS))
    assert all(runs[2 * k].block == runs[2 * k + 1].block == k for k in range(BOOTS))
    for run in runs:  # guest clock as wall; host clock and the boot's costs as metrics of their own
        assert run.exit_code == 0 and run.wall_s > 0
        assert run.metrics["host_s"] > 0 and run.metrics["boot_to_init_s"] > 0
        # the variant's env reached the guest command; a [[metric]] is parsed from the guest's output
        assert run.metrics["given"] == {"generic": 7.0, "rt": 9.0}[run.variant]
    assert all(TCG in " ".join(c.notes) for c in stored.commands)

    analysis = stored.analysis
    assert analysis["label"] == TCG and analysis["metrics"] == [*VM_METRICS, "given"]
    (row,) = analysis["rows"]
    for metric in VM_METRICS:
        entry = row["speedups"]["rt"][metric]
        assert entry["speedup"] > 0 and entry["verdict"] in ("faster", "slower", "same", "inconclusive")
        totals = analysis["totals"][metric]
        for figure in (totals["sum"]["rt"], totals["total_speedup"]["rt"], totals["geomean_speedup"]["rt"]):
            lo, hi = figure["ci"]
            assert lo is not None and lo <= figure["value"] <= hi

    exported = json.loads(perflab("export", str(stored.id), "--format", "json", "--db", db).stdout)
    assert exported["analysis"]["label"] == TCG and exported["settings"]["label"] == TCG
    page = tmp_path / "report.html"
    report = perflab("report", "-o", str(page), "--db", db)
    assert report.returncode == 0, report.stderr
    html = page.read_text()
    assert 'data-kind="suite"' in html and f"Emulated timings (generic, rt): {TCG}" in html
