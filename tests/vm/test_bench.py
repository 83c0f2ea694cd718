"""`perflab vm bench` of the two Debian kernels: alternating boots, a stored result with CIs, labelled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from perflab.lab.vm_bench import boot_order
from perflab.report.export import render
from perflab.store.db import Store

TCG = "emulated (TCG): not hardware performance"


def test_boot_order_alternates_in_random_blocks() -> None:
    for seed in range(200):
        order = boot_order(2, 6, np.random.default_rng(seed))
        blocks = [order[i:i + 2] for i in range(0, len(order), 2)]
        assert all(sorted(b) == [0, 1] for b in blocks)
    # both orders start a block (randomized, not a fixed ABAB); seeded, so deterministic
    firsts = {boot_order(2, 6, np.random.default_rng(s))[0] for s in range(200)}
    assert firsts == {0, 1}


@pytest.mark.slow
def test_two_kernels_give_a_stored_labelled_result_with_cis(generic_deb: Path, rt_deb: Path,
                                                            tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'vm.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "perflab", "vm", "bench", "--kernel", str(generic_deb),
         "--kernel", str(rt_deb), "--boots", "5", "--accel", "tcg", "--seed", "7",
         "--timeout", "600", "--db", db, "--json", "--",
         "sh", "-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done"],
        capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["kind"] == "vm-bench" and result["settings"]["label"] == TCG
    order = result["order"]
    assert sorted(order) == [0] * 5 + [1] * 5 and order != [0] * 5 + [1] * 5
    analysis = result["analysis"]
    assert analysis["label"] == TCG and analysis["unit_of_replication"] == "boot"
    metrics = {c["metric"] for c in analysis["comparisons"]}
    assert {"wall", "host_s", "boot_to_init_s", "boot_to_command_s"} <= metrics
    for c in analysis["comparisons"]:
        assert c["label"] == TCG
        if c["n_baseline"] >= 5 and c["n_candidate"] >= 5:
            lo, hi = c["ratio_ci"]
            assert lo <= c["ratio"] <= hi
    assert any(c["n_baseline"] >= 5 and c["n_candidate"] >= 5 for c in analysis["comparisons"])
    with Store.open(db) as store:
        stored = store.get(result["id"])
    assert stored.kind == "vm-bench" and len(stored.commands) == 2
    assert all(TCG.split(":")[0] in c.name for c in stored.commands)
    markdown = render(stored, "markdown").decode()
    assert TCG in markdown
