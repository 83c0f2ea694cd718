"""`perflab bench` option parsing without typer's per-call pydantic adapters: the same values and the same
errors as typer's own coercion, and pydantic is not imported for plain calls."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import perflab
from perflab.cli._fastparse import _UNHANDLED, _plain_value

SRC = str(Path(perflab.__file__).resolve().parents[1])


def _typer_value(annotation: Any, value: Any, minimum: float | None = None) -> Any:
    """What typer's own (pydantic) coercion makes of ``value``."""
    from typer._coercion import build_runtime_param, resolve_type_descriptor
    from typer.models import OptionInfo

    info = OptionInfo(min=minimum)
    desc = resolve_type_descriptor(annotation, info)
    return build_runtime_param(desc)._coerce_value(value, param=None, ctx=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("annotation", "value", "minimum"), [
    (int, "200", None), (int, "0", 0), (int, "-3", None), (int, 1, 1), (float, "0.05", None),
    (float, "1e-3", None), (float, "5", None), (float, ".5", None), (float, 0.01, None),
    (str, "sqlite:///x.db", None), (list[str], ("a b", "c"), None),
    (tuple[str, str, str], ("n", "1", "3"), None), (bool, True, None),
])
def test_plain_values_match_typers_coercion(annotation: Any, value: Any, minimum: float | None) -> None:
    info = type("Info", (), {"min": minimum, "max": None, "clamp": False})()
    ours = _plain_value(annotation, info, value)
    assert ours is not _UNHANDLED
    theirs = _typer_value(annotation, value, minimum)
    assert ours == theirs and type(ours) is type(theirs)


@pytest.mark.parametrize(("annotation", "value", "minimum"), [
    (int, "1_000", None), (int, " 5", None), (int, "007", None), (int, "2.0", None), (int, "0", 1),
    (float, "inf", None), (float, "1_0.5", None), (float, "abc", None), (str, b"bytes", None),
    (list[str], "not-a-list", None), (tuple[str, str, str], ("a", "b"), None),
])
def test_anything_unusual_is_left_to_typer(annotation: Any, value: Any, minimum: float | None) -> None:
    info = type("Info", (), {"min": minimum, "max": None, "clamp": False})()
    assert _plain_value(annotation, info, value) is _UNHANDLED


def _perflab(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    code = ("import sys; from perflab.cli import main; sys.argv = ['perflab', *sys.argv[1:]]; main()")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC, "NO_COLOR": "1",
                               "PERFLAB_DB": f"sqlite:///{tmp_path / 'p.db'}", "HOME": str(tmp_path)})


@pytest.mark.parametrize(("args", "message"), [
    (["--runs", "abc"], "Invalid value for '--runs' / '-r'"),
    (["--runs", "0"], "Invalid value for '--runs' / '-r'"),
    (["--warmup", "-1"], "Invalid value for '--warmup' / '-w'"),
    (["--alpha", "x"], "Invalid value for '--alpha'"),
])
def test_bad_values_get_typers_own_errors(args: list[str], message: str, tmp_path: Path) -> None:
    proc = _perflab("bench", *args, "--", "true", tmp_path=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_plain_call_parses_options_without_building_pydantic_adapters(tmp_path: Path) -> None:
    code = ("import sys, typer._coercion as c; from perflab.cli import main; built = []\n"
            "real = c.build_runtime_param\n"
            "c.build_runtime_param = lambda d: built.append(d.annotation) or real(d)\n"
            "import typer.core; typer.core.build_runtime_param = c.build_runtime_param\n"
            "sys.argv = ['perflab', 'bench', '--runs', '3', '--warmup', '0', '--alpha', '0.1', '--quiet',\n"
            "            '--export-json', sys.argv[1], '-e', 'A=1', '--', 'true']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('built', [a for a in built])")
    out = tmp_path / "x.json"
    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC, "NO_COLOR": "1",
                               "PERFLAB_DB": f"sqlite:///{tmp_path / 'p.db'}", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    # only the root group's --help (not bench's options) still goes through typer's builder
    built = proc.stdout.strip().splitlines()[-1]
    assert built in ("built []", "built [<class 'bool'>]"), built
    assert out.is_file() and "saved as #" in proc.stderr


def test_quiet_needs_no_rich_and_still_says_where_it_saved(tmp_path: Path) -> None:
    code = ("import sys; from perflab.cli import main\n"
            "sys.argv = ['perflab', 'bench', '--runs', '3', '--warmup', '0', '--quiet', '--', 'true']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('rich loaded:', 'rich' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC, "NO_COLOR": "1",
                               "PERFLAB_DB": f"sqlite:///{tmp_path / 'p.db'}", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "rich loaded: False"
    assert proc.stderr.startswith("saved as #1 in sqlite:///") and proc.stderr.count("\n") == 1


def test_collection_is_back_on_after_a_call_even_a_failing_one(capsys: pytest.CaptureFixture[str]) -> None:
    """bench switches the cyclic GC off while importing and freezes the survivors; in-process callers
    (tests, other tools) get the collector back as it was, also after an error."""
    import gc

    from perflab.cli import main

    assert gc.isenabled()
    gc.unfreeze()
    for args in (["bench", "--runs", "2", "--quiet", "--", "true"], ["bench", "--runs", "2", "--", "false"]):
        old = sys.argv
        sys.argv = ["perflab", *args]
        try:
            main()
        except SystemExit:
            pass
        finally:
            sys.argv = old
        assert gc.isenabled()
        assert gc.get_freeze_count() > 10_000  # the imports' survivors were frozen (cheap exit)
        gc.unfreeze()
    capsys.readouterr()


@pytest.mark.parametrize("breakage", [
    # a RuntimeParam with another dataclass shape (a new required field)
    "import dataclasses, typer._coercion as c\n"
    "@dataclasses.dataclass(frozen=True)\n"
    "class Shape(c.RuntimeParam):\n    extra: int\n"
    "c.RuntimeParam = Shape\n",
    # not a dataclass at all: fields() raises TypeError while installing
    "import typer._coercion as c; c.RuntimeParam = object\n",
    # the fast path itself fails at call time: typer's own coercion takes over
    "import perflab.cli._fastparse as f\n"
    "def boom(*a):\n    raise RuntimeError('boom')\n"
    "f._plain_value = boom\n",
])
def test_any_surprise_in_typers_internals_falls_back_to_plain_typer(breakage: str, tmp_path: Path) -> None:
    """The fast path is a speed-up only: whatever differs in typer, every command still parses."""
    code = (breakage + "import sys; from perflab.cli import main\n"
            "sys.argv = ['perflab', 'bench', '--runs', '3', '--warmup', '2', '--target-precision', '0.05',\n"
            "            '--json',\n"
            "            '--', 'true']\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC, "NO_COLOR": "1",
                               "PERFLAB_DB": f"sqlite:///{tmp_path / 'p.db'}", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["commands"][0]["runs"]) == 3
    assert (data["settings"]["warmup"], data["settings"]["target_precision"]) == (2, 0.05)
    bad = subprocess.run([sys.executable, "-c", code.replace("'3'", "'abc'")], capture_output=True,
                         text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC,
                                                     "PERFLAB_DB": f"sqlite:///{tmp_path / 'p.db'}"})
    assert bad.returncode == 2 and "Invalid value for '--runs'" in bad.stderr
    assert "Traceback" not in bad.stderr
