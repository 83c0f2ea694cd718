"""The shared file helpers: private directories and files, atomic writes, bounded reads."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from perflab import fsutil
from perflab.errors import PerflabError

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root (CI is root)")
NOBODY = 65534


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_private_dir_is_0700_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        made = fsutil.ensure_private_dir(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old)
    for path in (tmp_path / "a", tmp_path / "a" / "b", made):
        assert _mode(path) == 0o700


def test_private_dir_under_a_restrictive_umask_keeps_owner_bits(tmp_path):
    old = os.umask(0o777)
    try:
        made = fsutil.ensure_private_dir(tmp_path / "x")
    finally:
        os.umask(old)
    assert _mode(made) == 0o700


def test_existing_world_writable_dir_is_refused_and_never_chmodded(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with pytest.raises(fsutil.UnsafePathError, match=r"writable by group or others \(mode 1777"):
        fsutil.ensure_private_dir(shared)
    assert _mode(shared) == 0o1777


def test_existing_readable_dir_is_accepted_unchanged(tmp_path):
    os.chmod(tmp_path, 0o755)
    fsutil.ensure_private_dir(tmp_path)
    assert _mode(tmp_path) == 0o755


def test_symlinked_dir_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(fsutil.UnsafePathError, match="symbolic link"):
        fsutil.open_dir(tmp_path / "link")


@needs_root
def test_dir_owned_by_another_user_is_refused(tmp_path):
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    os.chown(other, NOBODY, NOBODY)
    with pytest.raises(fsutil.UnsafePathError, match="owned by .*uid 65534"):
        fsutil.ensure_private_dir(other)


def test_private_file_refuses_a_symlink_and_leaves_its_target_alone(tmp_path):
    target = tmp_path / "victim"
    target.write_text("precious\n")
    (tmp_path / "state").mkdir(mode=0o700)
    (tmp_path / "state" / "lock").symlink_to(target)
    with pytest.raises(fsutil.UnsafePathError, match="symbolic link"), fsutil.private_file(
        tmp_path / "state", "lock", os.O_RDWR | os.O_CREAT
    ):
        pass
    assert target.read_text() == "precious\n"


def test_private_file_created_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        with fsutil.private_file(tmp_path / "s", "f", os.O_WRONLY | os.O_CREAT) as fd:
            os.write(fd, b"x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "s" / "f") == 0o600


@needs_root
def test_private_file_owned_by_another_user_is_refused(tmp_path):
    (tmp_path / "s").mkdir(mode=0o700)
    forged = tmp_path / "s" / "f"
    forged.write_text("forged\n")
    os.chown(forged, NOBODY, NOBODY)
    with pytest.raises(fsutil.UnsafePathError, match="owned by"), fsutil.private_file(
        tmp_path / "s", "f", os.O_RDONLY
    ):
        pass


def test_group_writable_private_file_is_refused(tmp_path):
    (tmp_path / "s").mkdir(mode=0o700)
    (tmp_path / "s" / "f").write_text("x")
    os.chmod(tmp_path / "s" / "f", 0o620)
    with pytest.raises(fsutil.UnsafePathError, match="mode 0620"), fsutil.private_file(
        tmp_path / "s", "f", os.O_RDONLY
    ):
        pass


def test_atomic_write_replaces_with_explicit_mode(tmp_path):
    target = tmp_path / "out" / "export.json"
    old = os.umask(0)
    try:
        fsutil.atomic_write(target, "one", mode=0o644)
        fsutil.atomic_write(target, b"two", mode=0o644)
    finally:
        os.umask(old)
    assert target.read_text() == "two"
    assert _mode(target) == 0o644
    assert _mode(target.parent) == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["export.json"]


def test_read_bounded_refuses_devices_and_fifos(tmp_path):
    with pytest.raises(PerflabError, match="/dev/zero: a character device, not a config"):
        fsutil.read_bounded("/dev/zero", what="config")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(PerflabError, match="a FIFO"):
        fsutil.read_bounded(fifo)  # would block forever if opened blocking
    with pytest.raises(PerflabError, match="a directory"):
        fsutil.read_bounded(tmp_path)


def test_read_bounded_enforces_the_limit(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"a" * 101)
    with pytest.raises(PerflabError, match="101 bytes, more than the 100 bytes allowed"):
        fsutil.read_bounded(big, limit=100)
    assert fsutil.read_bounded(big, limit=101) == b"a" * 101


def test_read_text_bounded_names_the_bad_byte(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"ok\nab\xffc\n")
    with pytest.raises(PerflabError, match=r"bad:2:3: not UTF-8 text \(byte 0xff\)"):
        fsutil.read_text_bounded(bad)


def _mount_small_tmpfs(path) -> bool:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


@needs_root
def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path):
    mnt = tmp_path / "mnt"
    if not _mount_small_tmpfs(mnt):
        pytest.skip("cannot mount a tmpfs here")
    try:
        target = mnt / "f"
        fsutil.atomic_write(target, b"old")
        with pytest.raises(PerflabError, match="No space left on device; the old file is untouched"):
            fsutil.atomic_write(target, b"x" * (1 << 20))
        assert target.read_bytes() == b"old"
        assert sorted(p.name for p in mnt.iterdir()) == ["f"]
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
