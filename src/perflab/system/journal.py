"""The on-disk write-ahead journal of tuning writes.

tuned keeps its rollback data in RAM, so a crash loses the originals. perflab appends one JSON line per
event to ``$PERFLAB_STATE_DIR/tuning-journal.jsonl`` and fsyncs it *before* touching a knob, so a
SIGKILL between any two instructions still leaves every original on disk. Records:

* ``begin``    a transaction (one apply call): txn id, boot id, pid, label, time
* ``intent``   a knob about to be written: the saved original (``saved``), its readable ``before`` and
  the value about to be written
* ``result``   what the write did (status and read-back ``after``)
* ``restored`` a knob put back to its original (by a partial-failure undo, ``restore`` or ``rollback``)
* ``end``      the apply call finished
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError

JOURNAL_NAME = "tuning-journal.jsonl"
LOCK_NAME = "tuning.lock"
LOCK_TIMEOUT = 5.0  # seconds an apply waits for another one to finish before giving up


def state_dir() -> Path:
    """The private state directory (``$PERFLAB_STATE_DIR`` or ~/.local/state/perflab), created 0700."""
    raw = os.environ.get("PERFLAB_STATE_DIR")
    path = Path(raw) if raw else Path.home() / ".local" / "state" / "perflab"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError as error:
        raise PerflabError(f"state directory {path}: {error.strerror}") from None
    return path


def journal_path() -> Path:
    return state_dir() / JOURNAL_NAME


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append(record: dict[str, Any]) -> None:
    """Append one record and make it durable (file and, when the file is new, its directory)."""
    path = journal_path()
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        line = json.dumps(record, sort_keys=True) + "\n"
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:
        _fsync_dir(path.parent)


def read_records() -> list[dict[str, Any]]:
    """Every record; a torn last line (power loss mid-append) is skipped, a corrupt middle one is an error."""
    path = journal_path()
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines):
                break
            raise PerflabError(f"{path}:{number}: corrupt journal line: {error.msg}") from error
    return records


def clear() -> None:
    """Drop the journal once every change in it is undone (atomically: rename then unlink)."""
    path = journal_path()
    if path.exists():
        done = path.with_suffix(".done")
        os.replace(path, done)
        _fsync_dir(path.parent)
        done.unlink()


@dataclass
class Intent:
    """A knob perflab wrote (or was about to write) and has not yet put back."""

    txn: str
    knob: str
    saved: str
    before: str
    wanted: str
    after: str | None
    status: str | None
    boot_id: str
    time: float
    label: str


def pending() -> list[Intent]:
    """Intents not yet restored, in journal order (rollback walks them in reverse)."""
    txns: dict[str, dict[str, Any]] = {}
    intents: list[Intent] = []
    for record in read_records():
        kind = record.get("type")
        if kind == "begin":
            txns[record["txn"]] = record
        elif kind == "intent":
            txn = txns.get(record["txn"], {})
            intents.append(
                Intent(
                    txn=record["txn"],
                    knob=record["knob"],
                    saved=record["saved"],
                    before=record["before"],
                    wanted=record["wanted"],
                    after=None,
                    status=None,
                    boot_id=txn.get("boot_id", "unknown"),
                    time=txn.get("time", 0.0),
                    label=txn.get("label", ""),
                )
            )
        elif kind == "result":
            for intent in reversed(intents):
                if intent.txn == record["txn"] and intent.knob == record["knob"]:
                    intent.after = record.get("after")
                    intent.status = record.get("status")
                    break
        elif kind == "restored":
            for index in range(len(intents) - 1, -1, -1):
                if intents[index].txn == record["txn"] and intents[index].knob == record["knob"]:
                    del intents[index]
                    break
    return intents


def new_txn(label: str) -> str:
    txn = uuid.uuid4().hex[:12]
    append(
        {
            "type": "begin",
            "txn": txn,
            "boot_id": boot_id(),
            "pid": os.getpid(),
            "label": label,
            "time": time.time(),
        }
    )
    return txn


@contextlib.contextmanager
def locked(timeout: float | None = None) -> Iterator[None]:
    """Exclusive lock so two applies or rollbacks never interleave their writes."""
    path = state_dir() / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + (LOCK_TIMEOUT if timeout is None else timeout)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise PerflabError(
                        f"another perflab tuning is running (pid {holder}; lock {path})"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
