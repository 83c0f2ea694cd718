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
* ``torn``     written before the next record when the file ended in a torn record (a kill mid-append)

Durability: a record counts only once every byte and its newline are written and fsynced; a short write
(full disk) truncates the file back to where it was and raises, so the caller never touches the knob.
Framing: one record per newline-terminated line. A last line without its newline is a torn record: its
knob was never written (the write comes after the fsync); the next append terminates it and says so
with a ``torn`` record instead of gluing onto it. Reading never stops at a bad line: each one (not UTF-8,
not JSON, not a record, missing fields, a knob perflab does not know) is reported with its line number
and the records around it still count.

Trust: the state directory and the files in it are opened relative to a checked directory fd, without
following symlinks, and must belong to this user (or root) and not be writable by group or others.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perflab import fsutil
from perflab.errors import PerflabError

JOURNAL_NAME = "tuning-journal.jsonl"
LOCK_NAME = "tuning.lock"
LOCK_TIMEOUT = 5.0  # seconds an apply waits for another one to finish before giving up
JOURNAL_LIMIT = 64 * 1024 * 1024  # a journal is a few KB; anything this large is not ours

#: fields every record of a type must carry, as strings
REQUIRED = {
    "begin": ("txn",),
    "intent": ("txn", "knob", "saved", "before", "wanted"),
    "result": ("txn", "knob"),
    "restored": ("txn", "knob"),
    "end": ("txn",),
    "torn": (),
}


class JournalWriteError(PerflabError):
    """A record could not be made durable (full disk, I/O error): nothing after it may be written."""


def journal_path() -> Path:
    return fsutil.state_dir() / JOURNAL_NAME


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


@contextlib.contextmanager
def _state_file(name: str, flags: int) -> Iterator[tuple[int, bool]]:
    """An fd of ``name`` in the checked state dir (no symlinks, ours, private); and whether it is new."""
    directory = fsutil.state_dir()
    dir_fd = fsutil.open_dir(directory)
    try:
        existed = _exists_at(dir_fd, name)
        fd = fsutil.open_private(dir_fd, name, flags, where=directory / name)
        try:
            yield fd, not existed
        finally:
            os.close(fd)
        if not existed and flags & os.O_CREAT:
            fsutil.fsync_dir(dir_fd)
    finally:
        os.close(dir_fd)


def _exists_at(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def exists() -> bool:
    """Whether there is a journal at all (a symlink or foreign file in its place is refused later)."""
    return os.path.lexists(journal_path())


def append(record: dict[str, Any]) -> None:
    """Append one record and make it durable, or raise JournalWriteError leaving the file as it was."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    path = journal_path()
    with _state_file(JOURNAL_NAME, os.O_RDWR | os.O_APPEND | os.O_CREAT) as (fd, _new):
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            torn = {"type": "torn", "bytes": size - _last_newline(fd, size), "time": time.time()}
            line = b"\n" + (json.dumps(torn, sort_keys=True) + "\n").encode() + line
        try:
            fsutil.write_all(fd, line)
            os.fsync(fd)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                os.fsync(fd)
            raise JournalWriteError(
                f"journal {path}: cannot write a record ({error.strerror}); nothing after it was changed"
            ) from None


def _last_newline(fd: int, size: int) -> int:
    """Offset just after the last newline before ``size`` (0 when there is none)."""
    position = size
    while position > 0:
        start = max(0, position - 4096)
        chunk = os.pread(fd, position - start, start)
        index = chunk.rfind(b"\n")
        if index >= 0:
            return start + index + 1
        position = start
    return 0


@dataclass
class JournalScan:
    """What reading the journal found: the valid records and a line-numbered note per bad line."""

    records: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # lines that could hold a change we cannot read
    torn: list[str] = field(default_factory=list)  # records cut by a kill mid-append (never applied)


def _check_record(record: Any) -> str | None:
    if not isinstance(record, dict):
        return f"not a journal record (a JSON {type(record).__name__})"
    kind = record.get("type")
    if kind not in REQUIRED:
        return f"unknown record type {kind!r}"
    missing = [k for k in REQUIRED[kind] if not isinstance(record.get(k), str)]
    if missing:
        return f"{kind} record without {', '.join(missing)}"
    return None


def scan() -> JournalScan:
    """Read every line; bad lines are reported by number and never hide the records around them."""
    result = JournalScan()
    if not exists():
        return result
    path = journal_path()
    with _state_file(JOURNAL_NAME, os.O_RDONLY) as (fd, _new):
        data = _read_limited(fd, path)
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    bad: tuple[int, str] | None = None  # the last unreadable line, until we know whether it was torn
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        note = _parse_line(raw, result.records)
        if note is None and bad is not None and result.records[-1]["type"] == "torn":
            result.torn.append(f"{path}:{bad[0]}: torn record ignored ({bad[1]}): cut by a kill "
                               f"mid-append, its knob was never written")
            bad = None
            continue
        if bad is not None:
            result.damaged.append(f"{path}:{bad[0]}: {bad[1]}")
        bad = None if note is None else (number, note)
    if bad is not None:
        result.damaged.append(f"{path}:{bad[0]}: {bad[1]}")
    if tail.strip():
        result.torn.append(f"{path}:{len(lines) + 1}: torn last record ignored ({len(tail)} bytes without "
                           f"a newline): cut by a kill mid-append, its knob was never written")
    return result


def _read_limited(fd: int, path: Path) -> bytes:
    size = os.fstat(fd).st_size
    if size > JOURNAL_LIMIT:
        raise PerflabError(f"{path}: {size} bytes, more than a journal can be ({JOURNAL_LIMIT}): not ours")
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_line(raw: bytes, records: list[dict[str, Any]]) -> str | None:
    """Append the record on ``raw`` to ``records``; or why it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 (byte {error.start + 1})"
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        return f"not JSON ({getattr(error, 'msg', 'nested too deeply')})"
    why = _check_record(record)
    if why is not None:
        return why
    records.append(record)
    return None


def read_records() -> list[dict[str, Any]]:
    """Every valid record (see ``scan`` for the lines that were not)."""
    return scan().records


def clear() -> None:
    """Drop the journal once every change in it is undone (atomically: rename then unlink)."""
    directory = fsutil.state_dir()
    dir_fd = fsutil.open_dir(directory)
    try:
        if not _exists_at(dir_fd, JOURNAL_NAME):
            return
        done = JOURNAL_NAME + ".done"
        os.rename(JOURNAL_NAME, done, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        fsutil.fsync_dir(dir_fd)
        os.unlink(done, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def set_aside() -> Path:
    """Move a journal with damaged lines out of the way (kept for inspection); returns its new path."""
    directory = fsutil.state_dir()
    name = f"tuning-journal.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.jsonl"
    dir_fd = fsutil.open_dir(directory)
    try:
        os.rename(JOURNAL_NAME, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        fsutil.fsync_dir(dir_fd)
    finally:
        os.close(dir_fd)
    return directory / name


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


def pending(records: list[dict[str, Any]] | None = None) -> list[Intent]:
    """Intents not yet restored, in journal order (rollback walks them in reverse)."""
    txns: dict[str, dict[str, Any]] = {}
    intents: list[Intent] = []
    for record in read_records() if records is None else records:
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
                    boot_id=_text_or_none(txn.get("boot_id")) or "unknown",
                    time=_number(txn.get("time")),
                    label=_text_or_none(txn.get("label")) or "",
                )
            )
        elif kind == "result":
            for intent in reversed(intents):
                if intent.txn == record["txn"] and intent.knob == record["knob"]:
                    intent.after = _text_or_none(record.get("after"))
                    intent.status = _text_or_none(record.get("status"))
                    break
        elif kind == "restored":
            for index in range(len(intents) - 1, -1, -1):
                if intents[index].txn == record["txn"] and intents[index].knob == record["knob"]:
                    del intents[index]
                    break
    return intents


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e11
    return float(value) if ok else 0.0


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
    path = fsutil.state_dir() / LOCK_NAME
    with _state_file(LOCK_NAME, os.O_RDWR | os.O_CREAT) as (fd, _new):
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
        with contextlib.suppress(OSError):  # the holder's pid is a courtesy; a full disk must not block
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
