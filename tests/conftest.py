"""Shared fixtures: every test gets its own store and state directory, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_DB", f"sqlite:///{tmp_path / 'perflab.db'}")
    monkeypatch.setenv("PERFLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NO_COLOR", "1")
