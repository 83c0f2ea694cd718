"""The start-up budget of `perflab bench`, guarded by what it imports rather than by a clock.

`perflab bench --runs 2 true true` is meant to finish well under 0.3 s; most of that is imports. These
tests run the real CLI path in a fresh interpreter (real commands, a real SQLite store) and list the
modules it loaded: a heavy library or an unrelated command module imported eagerly again fails here,
whatever the machine's speed. The timing itself is measured in benchmarks/startup_vs_hyperfine.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import perflab
from perflab.cli import COMMAND_MODULES, app, modules_for, register_commands

SRC = str(Path(perflab.__file__).resolve().parents[1])

#: never needed to measure, analyse, store and print a benchmark
HEAVY = ("scipy", "matplotlib", "jinja2", "pydantic", "pandas", "psutil", "kconfiglib", "playwright",
         "h5py", "numpy.typing", "sqlalchemy.orm", "typer.rich_utils")
#: perflab modules of other commands and of other use cases
UNRELATED = ("perflab.cli.results", "perflab.cli.report", "perflab.cli.gate", "perflab.cli.system",
             "perflab.cli.tune", "perflab.cli.suite", "perflab.cli.kernel", "perflab.cli.crypto",
             "perflab.cli.vm", "perflab.cli.idea", "perflab.cli.exp", "perflab.cli.anns",
             "perflab.kernel", "perflab.vm", "perflab.packs", "perflab.system.audit",
             "perflab.system.profiles", "perflab.report.html", "perflab.report.suite",
             "perflab.analysis.history", "perflab.analysis.suite", "perflab.lab.suite",
             "perflab.lab.tune_try", "perflab.lab.experiment", "perflab.store.history")


def modules_after(tmp_path: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules loaded by one real `perflab ARGS` call (a fresh interpreter, a private store)."""
    code = ("import json, sys\nfrom perflab.cli import main\nsys.argv = ['perflab', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "print('MODULES ' + json.dumps(sorted(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC, "NO_COLOR": "1",
                                             "HOME": str(tmp_path),
                                             "PERFLAB_DB": f"sqlite:///{tmp_path / 'p.db'}"})
    line = [x for x in proc.stdout.splitlines() if x.startswith("MODULES ")]
    assert line, proc.stderr
    return set(json.loads(line[-1].removeprefix("MODULES "))), proc


def loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


@pytest.mark.parametrize("quiet", [True, False])
def test_two_command_bench_imports_nothing_heavy_and_no_other_command(tmp_path: Path, quiet: bool) -> None:
    args = ["bench", "--runs", "2", *(["-q"] if quiet else []), "true", "true"]
    modules, proc = modules_after(tmp_path, *args)
    assert "saved as #1 in sqlite:///" in " ".join(proc.stderr.split()), proc.stderr  # measured, stored
    assert loaded(modules, "perflab.store.db") and loaded(modules, "numpy")  # a real call, not a no-op
    assert [m for m in HEAVY if loaded(modules, m)] == []
    assert [m for m in UNRELATED if loaded(modules, m)] == []
    if quiet:  # no table, no progress: the terminal renderer is not needed
        assert not loaded(modules, "rich")
    else:
        assert "Comparisons" in proc.stdout


def test_the_command_table_names_every_registered_command() -> None:
    """Every command the full CLI registers is in COMMAND_MODULES (else a call naming it would register
    only… nothing), and every entry exists."""
    register_commands([])  # everything
    names = {c.name or c.callback.__name__ for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups}
    assert names == set(COMMAND_MODULES)
    for name, module in COMMAND_MODULES.items():
        assert modules_for([name, "--help"]) == [module]
    assert len(modules_for(["--help"])) == len(set(COMMAND_MODULES.values()))
    assert len(modules_for(["nosuch"])) == len(set(COMMAND_MODULES.values()))


def test_a_command_call_registers_its_group_only_and_still_works(tmp_path: Path) -> None:
    modules, proc = modules_after(tmp_path, "tune", "--help")
    assert proc.returncode == 0 or "Usage: perflab tune" in proc.stdout
    assert loaded(modules, "perflab.cli.tune") and not loaded(modules, "perflab.cli.kernel")
    full, proc = modules_after(tmp_path, "--help")
    assert all(loaded(full, f"perflab.cli.{m}") for m in set(COMMAND_MODULES.values()))
    assert "tracker" in proc.stdout and "anns" in proc.stdout
