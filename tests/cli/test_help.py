"""What `--help` and a call that cannot start show a user: words instead of Python types, one example per
command, defaults that are not values, the error line before the usage, and working shell completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import perflab
from perflab.cli import app, main
from perflab.cli.help import metavar_for

SRC = str(Path(perflab.__file__).resolve().parents[1])
PYTHON_TYPES = re.compile(r"<(list\[|int|float|str|bool|tuple)|\brange>")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")  # typer's usage line for an argument without a metavar


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    old = sys.argv
    sys.argv = ["perflab", *args]
    code: int | str | None = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return int(code or 0), captured.out, captured.err


def every_help(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Each command's --help text, from one command tree polished as the root group does on every call
    (rendering through main() once per command costs ~3 s each on a loaded CI machine)."""
    from perflab.cli.help import polish

    run(capsys, "--help")  # registers every command group
    root = typer.main.get_command(app)
    root_ctx = typer.Context(root, info_name="perflab")
    polish(root, root_ctx)
    texts: dict[str, str] = {}

    def walk(command: typer.core.TyperGroup, path: list[str], parent: typer.Context) -> None:
        for name, sub in command.commands.items():
            ctx = typer.Context(sub, info_name=name, parent=parent)
            if getattr(sub, "commands", None):
                walk(sub, [*path, name], ctx)
            else:
                text = sub.get_help(ctx)
                texts[" ".join([*path, name])] = text + capsys.readouterr().out  # rich help prints

    walk(root, [], root_ctx)
    return texts


def test_every_command_shows_an_example_and_no_python_type(capsys: pytest.CaptureFixture[str]) -> None:
    texts = every_help(capsys)
    assert "bench" in texts and "system audit" in texts and len(texts) > 20
    for path, text in texts.items():
        assert "Example" in text, f"perflab {path} --help has no example"
        assert not PYTHON_TYPES.search(text), (path, PYTHON_TYPES.search(text))
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert not PLACEHOLDER.search(usage), (path, usage)
    code, out, _ = run(capsys, "system", "audit", "--help")  # and through the real entry point
    assert code == 0 and "Example: perflab system audit" in out and not PYTHON_TYPES.search(out)


def test_metavars_are_words() -> None:
    assert [metavar_for(label) for label in ("int range", "list[str]", "float", "path", "never|always")] == [
        "N", "TEXT", "NUM", "PATH", "[never|always]"]
    assert metavar_for("something new") is None  # unknown: typer's own text stays


def test_timeout_shows_its_default() -> None:
    out = subprocess.run([sys.executable, "-m", "perflab", "bench", "--help"], capture_output=True,
                         text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC, "COLUMNS": "100"}).stdout
    flat = " ".join(out.split())
    assert "--timeout NUM" in flat and "[default: (none, a run may take as long as it takes)]" in flat


def test_bench_without_a_command_is_one_error_line_then_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["bench"], ["bench", "--runs", "2"]):
        code, out, err = run(capsys, *args)
        lines = err.splitlines()
        assert code == 2 and out == ""
        assert lines[0].startswith("perflab: error: no command to measure")
        assert lines[1].startswith("Usage: ") and "bench [OPTIONS]" in lines[1] and "--help" in lines[2]


def test_unknown_profile_points_to_the_list_of_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    from perflab.errors import PerflabError
    from perflab.system.profiles import load_profile

    with pytest.raises(PerflabError, match="`perflab system profiles` lists the profiles"):
        load_profile("no-such-profile")


def test_install_completion_writes_a_script_that_completes(tmp_path: Path) -> None:
    """Through the installed `perflab` script, as a user's shell calls it. Typer finds the shell among the
    process's ancestors, so the call goes through bash (a test run started without any shell above it, as
    some CI runners do, otherwise gets "Shell None is not supported.": seen once)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    call = [str(Path(sys.executable).parent / "perflab")]
    # "; exit $?" keeps bash as the parent (a lone command would be exec'd in its place)
    proc = subprocess.run(["bash", "-c", '"$0" --install-completion; exit $?', *call], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    script = tmp_path / ".bash_completions" / "perflab.sh"
    assert "_PERFLAB_COMPLETE=complete_bash" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()
    # what bash runs on <TAB>: the script's protocol, answered by perflab itself
    for words, cword, expected in (("perflab sys", "1", "system"), ("perflab system ", "2", "audit"),
                                   ("perflab bench --ti", "2", "--timeout")):
        done = subprocess.run(call, capture_output=True, text=True, timeout=60,
                              env={**env, "_PERFLAB_COMPLETE": "complete_bash", "COMP_WORDS": words,
                                   "COMP_CWORD": cword})
        assert done.returncode == 0 and expected in done.stdout.split(), (words, done.stdout, done.stderr)
    assert os.environ.get("_PERFLAB_COMPLETE") is None
