"""Shared fixtures: every test gets its own store and state directory, never the user's."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from perflab.bench.build import private_build_dir


@pytest.fixture(autouse=True, scope="session")
def _interruptible_children() -> None:
    """Children get SIGINT's default disposition, as under a terminal's Ctrl-C.

    A shell starts a background job (`cmd &`, nohup, many CI runners) with SIGINT ignored, and exec keeps an
    ignored signal ignored: every `perflab` the tests start would then ignore the SIGINT of the Ctrl-C tests
    and they hang (seen in .ci/run started in the background). A handler is reset to the default on exec.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True, scope="session")
def _nothing_left_in_the_temporary_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every process the tests start (and this one) makes its temporary files in one directory of this
    session, which must hold none of perflab's own at the end (a run's output directory, a VM job, a
    launcher build): a run of the tests once left three in /tmp. A test that SIGKILLs perflab, which then
    cannot clean up, gives that process a TMPDIR under its tmp_path."""
    tmp_path_factory.getbasetemp()  # pytest's own tmp_path base stays where it was
    root = Path(tempfile.mkdtemp(prefix="pytest-perflab-tmp-"))
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(root), str(root)
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        tempfile.tempdir = saved_dir
        own = private_build_dir()  # this process's own, removed when pytest exits (after this check)
        left = sorted(p.name for p in root.iterdir() if p.name.startswith("perflab-") and p != own)
        shutil.rmtree(root, ignore_errors=True)
    assert not left, f"the tests left perflab's temporary files behind: {', '.join(left)}"


@pytest.fixture(autouse=True)
def _private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_DB", f"sqlite:///{tmp_path / 'perflab.db'}")
    monkeypatch.setenv("PERFLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NO_COLOR", "1")
