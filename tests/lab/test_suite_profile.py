"""A tuning-profile variant: applied through the journal for its own runs only, every knob restored.
Writes /proc/sys: run under the shared lock (flock /tmp/perflab-proc-sys.lock), as root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perflab.lab.suite import SuiteRunOptions, run_suite
from perflab.lab.suite_file import load_suite
from perflab.store.db import Store

SWAPPINESS = Path("/proc/sys/vm/swappiness")
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not os.access(SWAPPINESS, os.W_OK),
                                reason="needs root and a writable vm.swappiness")


@needs_root
def test_profile_variant_is_in_force_for_its_runs_and_restored(tmp_path: Path) -> None:
    original = SWAPPINESS.read_text().strip()
    wanted = "13" if original != "13" else "17"
    profile = tmp_path / "low-swap.toml"
    profile.write_text(f'description = "test"\n[settings]\n"vm.swappiness" = {wanted}\n')
    profile.chmod(0o600)
    (tmp_path / "perflab.toml").write_text(f"""\
[suite]
runs = 4
warmup = 1
metrics = ["wall", "swappiness"]

[[metric]]
name = "swappiness"
regex = "^([0-9]+)$"

[[benchmark]]
name = "read"
argv = ["cat", "/proc/sys/vm/swappiness"]

[[variant]]
name = "current"

[[variant]]
name = "tuned"
profile = "{profile.name}"
""")
    store = Store.open()
    outcome = run_suite(load_suite(tmp_path / "perflab.toml"), SuiteRunOptions(seed=4), store)
    bench = store.get(outcome.suite_id)
    seen = {c.parameters["variant"]: {r.metrics["swappiness"] for r in c.runs} for c in bench.commands}
    assert seen == {"current": {float(original)}, "tuned": {float(wanted)}}
    assert SWAPPINESS.read_text().strip() == original  # restored after every run of the variant
