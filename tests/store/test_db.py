"""The store against a real SQLite file (the per-test PERFLAB_DB from conftest)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import perflab
from perflab.errors import PerflabError
from perflab.store.db import Store
from perflab.store.model import Benchmark, CommandResult, MetricSpec, Run


def make_benchmark(n: int = 5, names: tuple[str, ...] = ("a", "b")) -> Benchmark:
    commands = []
    seq = 0
    for i, name in enumerate(names):
        runs = []
        for j in range(n):
            runs.append(Run(sequence=seq, wall_ns=1_000_000 * (i + 1) + j * 1000, user_s=0.001 * j,
                            sys_s=0.0005, exit_code=0, peak_rss_bytes=1_500_000 + j,
                            metrics={"ops": 100.0 + j}, block=j, variant=""))
            seq += 1
        commands.append(CommandResult(name=name, command=f"echo {name}", argv=["echo", name],
                                      parameters={"size": str(i)}, runs=runs, warmup_runs=1,
                                      metrics=[MetricSpec("ops", r"ops=(\d+)", "ops/s", True)],
                                      notes=["note"]))
    return Benchmark(commands=commands, created_at="2026-11-23T00:00:00+00:00",
                     order=[k % len(names) for k in range(seq)], environment={"cpu_model": "x"},
                     settings={"runs": n}, analysis={"v": 1})


def test_round_trip_real_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'r.db'}"
    bench = make_benchmark()
    with Store.open(url) as store:
        bid = store.save(bench)
        assert bench.id == bid
    with Store.open(url) as store:  # a fresh engine reads what the first wrote
        loaded = store.get(bid)
    assert loaded == bench
    assert loaded.commands[1].runs[2].metrics == {"ops": 102.0}
    # raw samples really are rows in the file
    con = sqlite3.connect(tmp_path / "sub" / "r.db")
    assert con.execute("select count(*) from runs").fetchone()[0] == 10
    assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert con.execute("select version from schema_version").fetchone()[0] == 1
    con.close()


def test_default_location_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERFLAB_DB")
    monkeypatch.chdir(tmp_path)
    with Store.open() as store:
        store.save(make_benchmark(2))
    assert stat.S_IMODE(os.stat(tmp_path / ".perflab").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / ".perflab" / "perflab.db").st_mode) == 0o600


def test_env_var_url_is_used() -> None:
    with Store.open() as store:
        store.save(make_benchmark(1))
    assert Path(os.environ["PERFLAB_DB"].removeprefix("sqlite:///")).stat().st_size > 0


def test_not_a_database_is_a_one_line_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_text("this is not SQLite\n" * 100)
    with pytest.raises(PerflabError) as info:
        Store.open(f"sqlite:///{garbage}")
    assert info.value.message == (f"cannot open the store sqlite:///{garbage}: not a perflab store or "
                                  f"damaged: file is not a database")
    with pytest.raises(PerflabError, match="invalid database URL"):
        Store.open("not a url")


def test_unknown_id_and_baseline_errors() -> None:
    with Store.open() as store:
        with pytest.raises(PerflabError, match="no benchmark with id 42"):
            store.get(42)
        with pytest.raises(PerflabError, match="no baseline named 'nope'"):
            store.baseline("nope")
        with pytest.raises(PerflabError, match="neither a benchmark id"):
            store.resolve("nope")
        with pytest.raises(PerflabError, match="no benchmark with id 7"):
            store.set_baseline("main", 7)


def test_baselines_and_resolve(tmp_path: Path) -> None:
    with Store.open() as store:
        first = store.save(make_benchmark(3))
        second = store.save(make_benchmark(4))
        store.set_baseline("main", first)
        assert store.baseline("main").id == first
        store.set_baseline("main", second)  # moving a baseline replaces it
        assert store.resolve("main").id == second
        assert store.resolve(str(first)).id == first
        assert store.resolve(first).id == first
        listing = store.list()
        assert [row.id for row in listing] == [second, first]
        assert listing[0].baselines == ["main"] and listing[0].runs == 8
        assert listing[0].commands == ["a", "b"]
        own = tmp_path / "own.json"
        own.write_text(json.dumps(make_benchmark(2).to_dict()))
        assert store.resolve(str(own)).commands[0].runs[1].wall_ns == 1_001_000


def test_newer_fields_are_kept_in_extra_and_ignored_when_unknown() -> None:
    bench = make_benchmark(1)
    with Store.open() as store:
        bid = store.save(bench)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("update runs set extra = '{\"future_field\": 1}'")
        assert store.get(bid).commands[0].runs[0].wall_ns == bench.commands[0].runs[0].wall_ns


WRITER = """
import sys, time
from perflab.store.db import Store
sys.path.insert(0, sys.argv[3])
from test_db import make_benchmark
from pathlib import Path
store = Store.open(sys.argv[1])
barrier = Path(sys.argv[4])
(barrier / sys.argv[5]).touch()
deadline = time.monotonic() + 30
while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:  # start writing together
    time.sleep(0.001)
start = time.monotonic()
for i in range(int(sys.argv[2])):
    store.save(make_benchmark(20))
print(start, time.monotonic())
"""


@pytest.mark.slow
def test_two_processes_write_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    Store.open(url).close()
    src = str(Path(perflab.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    here = str(Path(__file__).parent)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, "50", here, str(barrier), str(i)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    spans = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        spans.append([float(x) for x in out.split()])
    # CLOCK_MONOTONIC is system-wide: the two writing intervals really overlapped
    assert max(s[0] for s in spans) < min(s[1] for s in spans)
    with Store.open(url) as store:
        rows = store.list(limit=1000)
        assert len(rows) == 2 * 50
        assert all(row.runs == 40 for row in rows)
