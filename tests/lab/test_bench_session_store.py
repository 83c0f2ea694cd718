"""The bench session keeps every run: block by block in the store, a spill file when the disk is full."""

from __future__ import annotations

import gc
import os
import subprocess
from pathlib import Path

import pytest

from perflab.bench.commands import Command
from perflab.bench.options import BenchOptions
from perflab.bench.scheduler import RunCount
from perflab.lab.bench_session import BenchOutcome, BenchRequest, BenchSession
from perflab.store.db import Store
from perflab.store.jsonio import load_result_file

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs (CI is root)")


class Collect:
    def __init__(self) -> None:
        self.outcomes: list[BenchOutcome] = []

    def report(self, outcome: BenchOutcome) -> None:
        self.outcomes.append(outcome)


def _request(runs: int) -> BenchRequest:
    options = BenchOptions(RunCount(runs=runs), warmup=0, capture_environment=False)
    return BenchRequest([Command.from_argv(["true"], name="t")], options)


def test_runs_reach_the_store_while_measuring(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/s.db")
    seen: list[int] = []

    class Peek:
        def phase(self, text: str) -> None: ...
        def run_done(self, session, index, run) -> None: ...  # type: ignore[no-untyped-def]
        def output(self, label: str, text: str) -> None: ...

        def block_done(self, session) -> None:  # type: ignore[no-untyped-def]
            listing = Store.open(store.url).list()  # another connection sees the last committed block
            seen.append(listing[0].runs if listing else 0)

    session = BenchSession(_request(5), store)
    session.measure(Peek())  # type: ignore[arg-type]
    assert seen == [0, 1, 2, 3, 4]  # each block is committed right after the next one is observed
    provisional = store.get(1)
    assert provisional.status == "interrupted" and "killed while measuring" in str(provisional.message)
    outcome = session.conclude()
    assert outcome.bench_id == 1 and store.get(1).status == "complete"
    assert len(store.get(1).commands[0].runs) == 5 and len(store.list()) == 1


@needs_root
def test_full_disk_at_save_time_spills_the_runs_and_still_exports(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)]).returncode:
        pytest.fail("cannot mount a tmpfs")
    try:
        store = Store.open(f"sqlite:///{mnt}/s.db")
        session = BenchSession(_request(200), store)
        session.measure()
        with open(mnt / "filler", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        collect = Collect()
        session.benchmark.commands[0].notes.append("x" * 200_000)  # the final save needs new pages
        outcome = session.conclude([collect])
        assert outcome.bench_id is None and "disk is full" in str(outcome.save_error)
        assert collect.outcomes == [outcome]  # exports ran although the store refused
        spilled = load_result_file(outcome.spill_path)
        assert len(spilled.commands[0].runs) == 200
        assert Path(outcome.spill_path).stat().st_mode & 0o777 == 0o600
        store.close()
    finally:
        gc.collect()
        subprocess.run(["umount", "-l", str(mnt)], check=True)
