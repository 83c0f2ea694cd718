"""The journal under hostile state: torn and corrupt lines, symlinks, foreign owners, a full disk.

The records-only tests need no root; the ones that apply or roll back write real knobs (root, CI) and
restore them through the ``machine`` fixture."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from perflab import fsutil
from perflab.errors import PerflabError
from perflab.fsutil import UnsafePathError
from perflab.system import journal
from perflab.system.apply import apply_settings, rollback, status
from perflab.system.knobs import get_knob

from .conftest import child_env, other_value, perflab_cmd, snapshot

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="writes real knobs / chowns / mounts (CI is root)")
NOBODY = 65534


def _line(record: dict) -> bytes:
    return (json.dumps(record, sort_keys=True) + "\n").encode()


def _intent(txn: str, knob: str, before: str) -> list[dict]:
    return [
        {"type": "begin", "txn": txn, "boot_id": journal.boot_id(), "time": 1.0, "label": "t", "pid": 1},
        {"type": "intent", "txn": txn, "knob": knob, "saved": before, "before": before, "wanted": "13"},
    ]


def test_torn_tail_is_reported_and_never_glued_to_the_next_record() -> None:
    path = journal.journal_path()
    path.write_bytes(b"".join(_line(r) for r in _intent("a1", "vm.swappiness", "60")) + b'{"type": "inte')
    os.chmod(path, 0o600)
    first = journal.scan()
    assert len(first.records) == 2 and not first.damaged
    assert len(first.torn) == 1 and "torn last record ignored" in first.torn[0]
    journal.append({"type": "end", "txn": "a1"})  # before the fix: glued onto the torn bytes
    again = journal.scan()
    assert [r["type"] for r in again.records] == ["begin", "intent", "torn", "end"]
    assert not again.damaged
    assert len(again.torn) == 1 and ":3: torn record ignored" in again.torn[0]


BAD_LINES = [b"42", b'"str"', b"null", b"[1, 2]", b'{"type": "intent", "txn": "x"}', b'{"type": "nope"}',
             b"\xff\xfe not utf-8", b"{not json", b"[" * 5000 + b"]" * 5000]


def test_every_malformed_line_is_reported_by_number_and_the_rest_still_counts() -> None:
    path = journal.journal_path()
    good = [_line(r) for r in _intent("b1", "vm.swappiness", "60")]
    path.write_bytes(good[0] + b"\n".join(BAD_LINES) + b"\n" + good[1])
    os.chmod(path, 0o600)
    found = journal.scan()
    assert [r["type"] for r in found.records] == ["begin", "intent"]
    numbers = [int(note.split(":")[1]) for note in found.damaged]
    assert numbers == list(range(2, 2 + len(BAD_LINES)))
    assert all("\n" not in note for note in found.damaged)
    assert [i.knob for i in journal.pending(found.records)] == ["vm.swappiness"]


def test_journal_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.chmod(victim, 0o644)
    journal.journal_path().symlink_to(victim)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        journal.append({"type": "end", "txn": "x"})
    with pytest.raises(UnsafePathError, match="symbolic link"):
        journal.scan()
    assert victim.read_text() == "precious\n" and stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_lock_symlink_is_refused_even_for_a_dry_run(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (fsutil.state_dir() / journal.LOCK_NAME).symlink_to(victim)
    with pytest.raises(UnsafePathError, match="tuning.lock: is a symbolic link"):
        apply_settings({"vm.swappiness": "13"}, dry_run=True)
    assert victim.read_text() == "precious\n"  # before the fix: truncated by the lock


def test_world_writable_state_dir_is_refused_and_left_as_it_was(tmp_path: Path, monkeypatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    monkeypatch.setenv("PERFLAB_STATE_DIR", str(shared))
    with pytest.raises(UnsafePathError, match=r"writable by group or others \(mode 1777"):
        fsutil.state_dir()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777  # before the fix: chmod-ed to 0700


def test_new_state_dir_is_0700_under_umask_000(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PERFLAB_STATE_DIR", str(tmp_path / "deep" / "state"))
    old = os.umask(0)
    try:
        journal.append({"type": "end", "txn": "x"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700
    assert stat.S_IMODE(journal.journal_path().stat().st_mode) == 0o600


@needs_root
def test_forged_journal_owned_by_another_user_is_refused(machine: dict[str, bytes]) -> None:
    path = journal.journal_path()
    path.write_bytes(b"".join(_line(r) for r in _intent("f1", "vm.swappiness", "33")))
    os.chown(path, NOBODY, NOBODY)
    before = get_knob("vm.swappiness").read()
    with pytest.raises(UnsafePathError, match=r"owned by .*uid 65534"):
        rollback()
    assert get_knob("vm.swappiness").read() == before  # before the fix: set to 33


@needs_root
def test_refused_knob_name_is_never_journaled(machine: dict[str, bytes]) -> None:
    with pytest.raises(PerflabError, match="unknown knob"):
        apply_settings({"../../etc/passwd": "1", "vm.swappiness": "13"})
    assert not journal.exists()


@needs_root
def test_rollback_restores_around_damaged_lines_and_says_what_it_could_not(machine: dict[str, bytes]) -> None:
    knob = get_knob("vm.swappiness")
    original = knob.read()
    wanted = other_value(original, ["13", "17"])
    apply_settings({"vm.swappiness": wanted})
    path = journal.journal_path()
    with open(path, "ab") as fh:
        fh.write(b"null\n" + _line({"type": "intent", "txn": "zz", "knob": "../../etc/passwd", "saved": "x",
                                     "before": "x", "wanted": "y"}))
    report = rollback()
    assert [r.status for r in report.results] == ["restored"]
    assert knob.read() == original
    assert not report.ok and len(report.unreadable) == 2
    assert ":5: not a journal record" in report.unreadable[0]
    assert "unknown knob '../../etc/passwd'" in report.unreadable[1]
    assert not journal.exists()  # set aside for inspection, not deleted
    assert any("kept for inspection" in n for n in report.notes)
    assert status() == []


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (root is needed): {done.stderr.strip()}")


def _fill(directory: Path) -> None:
    """Fill the filesystem to its last byte."""
    with open(directory / "filler", "wb", buffering=0) as fh:
        for size in (1 << 16, 4096, 512, 64, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                continue


@needs_root
@pytest.mark.slow
def test_full_disk_mid_apply_never_writes_an_unjournaled_knob(machine: dict[str, bytes], tmp_path: Path,
                                                               monkeypatch) -> None:
    """On a full tmpfs the journal gets a short write (the observed ``write(intent,130)=61``): the knob
    it announced must not be touched, what was applied is put back, the error is one line, and the
    journal still rolls back afterwards."""
    swappiness = get_knob("vm.swappiness").read()
    somaxconn = get_knob("net.core.somaxconn").read()
    settings = {"vm.swappiness": other_value(swappiness, ["13", "17"]),
                "net.core.somaxconn": str(int(somaxconn) + 128)}
    # Measure the records of the first knob on an ordinary disk, then leave room for exactly those.
    apply_settings(dict(list(settings.items())[:1]), label="profile p")
    first_knob = journal.journal_path().read_bytes().rsplit(b"\n", 2)[0]  # begin, intent, result
    rollback()
    mnt = tmp_path / "mnt"
    _mount_tmpfs(mnt, "64k")
    try:
        monkeypatch.setenv("PERFLAB_STATE_DIR", str(mnt))
        page = 4096
        room = len(first_knob) + 1 + 60  # the second knob's intent (> 100 bytes) cannot fit
        pad = _line({"type": "end", "txn": "pad", "pad": "x" * (page - room - 40)})
        journal.journal_path().write_bytes(pad)
        os.chmod(journal.journal_path(), 0o600)
        (mnt / journal.LOCK_NAME).write_bytes(b"")
        os.chmod(mnt / journal.LOCK_NAME, 0o600)
        _fill(mnt)
        with pytest.raises(PerflabError) as caught:
            apply_settings(settings, label="profile p")
        message = caught.value.message
        assert "No space left on device" in message and "\n" not in message
        assert "put back vm.swappiness" in message
        assert snapshot() == machine  # nothing left changed, the unjournaled knob never written
        scan = journal.scan()
        assert not scan.damaged and not scan.torn  # the short write was cut back, not left torn
        (mnt / "filler").unlink()
        back = rollback()
        assert back.ok, back
        assert snapshot() == machine
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@needs_root
def test_cli_status_and_rollback_report_a_damaged_journal_in_one_line_each(machine: dict[str, bytes]) -> None:
    path = journal.journal_path()
    path.write_bytes(b"42\n" + _line({"type": "end", "txn": "x"}))
    os.chmod(path, 0o600)
    env = child_env()
    shown = subprocess.run(perflab_cmd("system", "status"), env=env, capture_output=True, text=True)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr
    assert "journal:" in shown.stderr and ":1: not a journal record" in shown.stderr
    back = subprocess.run(perflab_cmd("system", "rollback"), env=env, capture_output=True, text=True)
    assert back.returncode == 1 and "Traceback" not in back.stderr
    assert back.stderr.count("\n") == 1 and "could not be read" in back.stderr
