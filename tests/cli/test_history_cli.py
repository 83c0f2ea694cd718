"""`perflab history` as a whole process: what it shows (the last results and both sides of every step,
or everything with --all) and that its path imports no heavy module. Its speed is measured in
benchmarks/history_speed.py, never asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from perflab.lab.history import benchmark_history
from perflab.store.db import Store
from perflab.store.model import Benchmark, CommandResult, Run

HEAVY = {"scipy", "matplotlib", "jinja2", "sqlalchemy", "pydantic", "rich", "pandas", "playwright"}


def fill(store: Store, results: int = 30, samples: int = 20) -> None:
    """Seeded lognormal samples with a 10 % step at result 15 (whether a step is found is the library's
    business; these tests check that the command shows what the library found)."""
    rng = np.random.default_rng(7)
    for k in range(results):
        base = 0.01 * (1.1 if k >= results // 2 else 1.0)
        runs = [Run(sequence=i, wall_ns=int(base * 1e9 * rng.lognormal(0, 0.03)), user_s=0.0, sys_s=0.0,
                    exit_code=0) for i in range(samples)]
        store.save(Benchmark(commands=[CommandResult(name="work", command="work", argv=["work"], runs=runs)],
                             created_at=f"2026-11-{1 + k // 24:02d}T{k % 24:02d}:00:00+00:00"))


def history(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "perflab", "history", "work", *args], text=True,
                          capture_output=True, timeout=120, env={**os.environ, "COLUMNS": "200"})


def shown_ids(text: str) -> list[int]:
    return [int(line.split()[0][1:]) for line in text.splitlines() if line.strip().startswith("#")]


def test_compact_view_shows_the_last_results_and_every_step_and_all_shows_everything() -> None:
    store = Store.open()
    fill(store)
    (cell,) = benchmark_history(store, "work")
    ids = [p.benchmark_id for p in cell.points]
    steps = [s.index for s in cell.steps]
    compact = history("--last", "5")
    assert compact.returncode == 0, compact.stderr
    expected = sorted(set(range(25, 30)) | {i for s in steps for i in (s - 1, s)})
    assert shown_ids(compact.stdout) == [ids[i] for i in expected]
    assert f"30 results, {30 - len(expected)} not shown (--all shows them)" in compact.stdout
    assert f"{len(steps)} step(s)" in compact.stdout
    everything = history("--all")
    assert everything.returncode == 0 and shown_ids(everything.stdout) == ids
    assert "not shown" not in everything.stdout


def test_history_path_imports_no_heavy_module(tmp_path: Path) -> None:
    """The modules loaded by a whole `perflab history` run on an SQLite store (the SQLite file is read
    with the standard library; no SQLAlchemy, scipy, pydantic, rich, matplotlib or jinja2)."""
    store = Store.open()
    fill(store, results=8)
    out = tmp_path / "modules.json"
    code = (
        "import json, sys\n"
        "sys.argv = ['perflab', 'history', 'work']\n"
        "from perflab.cli import main\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    status = stop.code\n"
        f"open({str(out)!r}, 'w').write(json.dumps([status, sorted(sys.modules)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], text=True, capture_output=True, timeout=120)
    status, modules = json.loads(out.read_text())
    assert status in (0, None), done.stderr
    assert "work: wall" in done.stdout
    loaded = {m.split(".")[0] for m in modules}
    assert not loaded & HEAVY, sorted(loaded & HEAVY)
    assert "perflab.store.history" in modules  # the path really ran
