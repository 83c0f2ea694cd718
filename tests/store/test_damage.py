"""Corrupt, foreign and half-created databases: one line naming the store, never a traceback."""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.store.db import Store

from .test_db import make_benchmark

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs (CI is root)")


def _saved(tmp_path: Path) -> Path:
    db = tmp_path / "s.db"
    with Store.open(f"sqlite:///{db}") as store:
        store.save(make_benchmark())
    return db


def _one_line(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(PerflabError) as caught:
        call()
    assert "\n" not in caught.value.message
    return caught.value.message


def test_foreign_benchmarks_table_is_not_a_perflab_store_and_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "foreign.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE benchmarks (name TEXT, score REAL)")
    message = _one_line(lambda: Store.open(f"sqlite:///{db}"))
    assert "is not a perflab store (it has tables benchmarks and no schema_version)" in message
    with sqlite3.connect(db) as conn:  # nothing created in someone else's database
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["benchmarks"]


def test_dropped_column_is_damage_named_by_table_and_column(tmp_path: Path) -> None:
    db = _saved(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN peak_rss_bytes")
    message = _one_line(lambda: Store.open(f"sqlite:///{db}"))
    assert message.endswith("is damaged: table runs lacks column(s) peak_rss_bytes")


def test_bad_json_in_a_column_names_the_benchmark(tmp_path: Path) -> None:
    db = _saved(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE benchmarks SET analysis = '{not json'")
    with Store.open(f"sqlite:///{db}") as store:
        message = _one_line(lambda: store.get(1))
    assert "is damaged at benchmark #1:" in message


def test_bit_flipped_schema_is_one_line(tmp_path: Path) -> None:
    db = _saved(tmp_path)
    data = bytearray(db.read_bytes())
    at = data.find(b"CREATE TABLE runs")
    assert at > 0
    data[at + 7] = 0xFF  # the observed UnicodeDecodeError
    db.write_bytes(bytes(data))
    message = _one_line(lambda: Store.open(f"sqlite:///{db}"))
    assert message.startswith(f"cannot open the store sqlite:///{db}")


def test_garbage_in_every_byte_position_never_raises_anything_but_perflab_error(tmp_path: Path) -> None:
    """Bit flips spread over the file (a fixed stride): open + list + get give a result or one line."""
    db = _saved(tmp_path)
    pristine = db.read_bytes()
    for offset in range(100, len(pristine), max(1, len(pristine) // 40)):
        data = bytearray(pristine)
        data[offset] ^= 0xFF
        db.write_bytes(bytes(data))
        for suffix in ("-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        try:
            with Store.open(f"sqlite:///{db}") as store:
                for listing in store.list():
                    store.get(listing.id)
        except PerflabError as error:
            assert "\n" not in error.message


@needs_root
def test_refused_create_on_a_full_disk_leaves_no_empty_file(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mnt)]).returncode:
        pytest.fail("cannot mount a tmpfs")
    try:
        with open(mnt / "filler", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        message = _one_line(lambda: Store.open(f"sqlite:///{mnt}/new.db"))
        assert "cannot open the store" in message
        assert not (mnt / "new.db").exists()  # before the fix: a 0-byte new.db stayed behind
    finally:
        gc.collect()  # the caught exception's frames may still hold SQLite's file descriptors
        subprocess.run(["umount", "-l", str(mnt)], check=True)
