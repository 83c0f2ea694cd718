"""Shared fixtures: every test gets its own store and state directory, never the user's."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _interruptible_children() -> None:
    """Children get SIGINT's default disposition, as under a terminal's Ctrl-C.

    A shell starts a background job (`cmd &`, nohup, many CI runners) with SIGINT ignored, and exec keeps an
    ignored signal ignored: every `perflab` the tests start would then ignore the SIGINT of the Ctrl-C tests
    and they hang (seen in .ci/run started in the background). A handler is reset to the default on exec.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_DB", f"sqlite:///{tmp_path / 'perflab.db'}")
    monkeypatch.setenv("PERFLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NO_COLOR", "1")
