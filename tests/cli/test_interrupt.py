"""Ctrl-C that leaves a command unhandled still says so (typer turns it into a silent exit 130)."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from perflab import cli


def test_an_unhandled_ctrl_c_exits_130_and_says_interrupted(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A real SIGINT, delivered at a known point: the use case stands in for a `vm run` caught before its
    guest started (the real window is a few milliseconds wide, so only a stand-in can hit it every time)."""

    def interrupted_run(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)  # the signal's handler raises KeyboardInterrupt here

    monkeypatch.setattr("perflab.lab.vm_session.run_and_save", interrupted_run)
    monkeypatch.setattr(sys, "argv", ["perflab", "vm", "run", "--kernel", "k", "--", "true"])
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert exited.value.code == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "perflab: interrupted"
