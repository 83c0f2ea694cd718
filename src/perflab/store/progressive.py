"""Saving a benchmark while it is measured, and a spill file when the store cannot take it.

A benchmark that is written only at the end loses every run to a SIGKILL, an OOM kill or a power cut.
``PartialSave`` writes the runs measured so far after every block, one transaction each (cheap with
SQLite's WAL): the first write inserts the benchmark with status ``interrupted`` and a message saying
it was killed while measuring, so whatever stops the process, the runs before it are kept and marked.
The final save replaces that row in one transaction (``Store.save(..., replace=id)``).

When the final save fails (a full disk), ``spill`` writes the whole benchmark as perflab JSON to the
first place that takes it (next to the database, the state directory, the temp directory, /dev/shm),
so ``perflab show FILE`` or ``perflab compare`` can read it and nothing measured is lost.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from perflab import fsutil
from perflab.errors import PerflabError
from perflab.store import schema
from perflab.store.db import Store
from perflab.store.jsonio import json_safe
from perflab.store.model import Benchmark

KILLED = ("killed while measuring (SIGKILL, an OOM kill or a power cut): the runs measured before it are "
          "kept")


class PartialSave:
    """The runs of one benchmark in progress, written to the store block by block."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.bench_id: int | None = None
        self.command_ids: list[int] = []
        self.stored: list[int] = []  # runs already written, per command
        self.error: str | None = None  # why partial saving stopped (the final save is still tried)

    def update(self, benchmark: Benchmark) -> None:
        """Write the runs not yet stored; never raises (a failure stops partial saving, noted)."""
        if self.error is not None:
            return
        first = self.bench_id is None
        before = list(self.stored)
        try:
            with self.store.engine.begin() as conn:
                if self.bench_id is None:
                    self._insert(conn, benchmark)
                for i, command in enumerate(benchmark.commands):
                    new = command.runs[self.stored[i]:]
                    if new:
                        rows = [dataclasses.asdict(r) for r in new]
                        self.store.insert_runs(conn, self.command_ids[i], rows)
                        self.stored[i] = len(command.runs)
                conn.execute(update(schema.benchmarks).where(schema.benchmarks.c.id == self.bench_id)
                             .values(order=list(benchmark.order)))
        except (SQLAlchemyError, OSError, PerflabError) as error:
            self.error = (str(getattr(error, "orig", None) or error).splitlines() or ["?"])[0]
            self._rolled_back(first, before)
        except BaseException:  # Ctrl-C or SIGTERM inside the transaction: rolled back too
            self._rolled_back(first, before)
            raise

    def _rolled_back(self, first: bool, before: list[int]) -> None:
        """After a rolled-back write: a first write left no row to replace (the final save must insert,
        not replace a row that does not exist); a later one wrote none of its runs."""
        if first:
            self.bench_id, self.command_ids, self.stored = None, [], []
        else:
            self.stored = before

    def _insert(self, conn: Any, benchmark: Benchmark) -> None:
        row = {"created_at": benchmark.created_at, "kind": benchmark.kind, "status": "interrupted",
               "message": KILLED, "environment": json_safe(benchmark.environment),
               "settings": json_safe(benchmark.settings), "analysis": {}, "order": [], "extra": {}}
        self.bench_id = int(conn.execute(schema.benchmarks.insert().values(**row)).inserted_primary_key[0])
        for position, command in enumerate(benchmark.commands):
            data = dataclasses.asdict(command)
            data["runs"] = []
            self.command_ids.append(self.store.insert_command(conn, self.bench_id, position, data))
            self.stored.append(0)

    def discard(self) -> None:
        """Remove the partial benchmark (nothing worth keeping was measured)."""
        if self.bench_id is not None:
            try:
                self.store.delete(self.bench_id)
            except SQLAlchemyError:
                return  # it stays marked interrupted, which is true
            self.bench_id = None


def spill_dirs(store_url: str) -> list[Path]:
    """Where a spill file is tried, in order."""
    from sqlalchemy.engine import make_url

    dirs = []
    try:
        database = make_url(store_url).database
    except Exception:  # noqa: BLE001 — any URL the store accepted; a bad one just skips this place
        database = None
    if database and database != ":memory:":
        dirs.append(Path(database).resolve().parent)
    state = os.environ.get("PERFLAB_STATE_DIR")
    dirs.append(Path(state) if state else Path.home() / ".local" / "state" / "perflab")
    dirs.append(Path(tempfile.gettempdir()))
    dirs.append(Path("/dev/shm"))
    return dirs


def spill(benchmark: Benchmark, store_url: str) -> Path:
    """Write ``benchmark`` as perflab JSON (0600) to the first place that takes it; its path.

    PerflabError naming every place tried when none does."""
    text = json.dumps({"benchmark": json_safe(dataclasses.asdict(benchmark))}, indent=1)
    name = f"perflab-unsaved-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.json"
    tried = []
    for directory in spill_dirs(store_url):
        path = directory / name
        try:
            fsutil.atomic_write(path, text, mode=0o600)
        except PerflabError as error:
            tried.append(error.message)
            continue
        return path
    raise PerflabError("could not keep the runs anywhere: " + "; ".join(tried))
