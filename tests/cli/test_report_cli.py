"""`perflab report` from the command line: the page is written, bad input gives one line and no file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from perflab.analysis.benchmark import analyze
from perflab.store.db import Store
from perflab.store.model import Benchmark
from tests.report.helpers import synthetic


def _perflab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "perflab", *args], cwd=cwd, capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


def _store_one(created_at: str = "2026-11-20T10:00:00+00:00") -> int:
    bench = Benchmark(commands=[synthetic("a", 0.01, 10, seed=1), synthetic("b", 0.01, 10, seed=2)],
                      created_at=created_at)
    bench.analysis = analyze(bench, seed=1, n_boot=200)
    with Store.open() as store:
        return store.save(bench)


def test_writes_one_page_of_the_store(tmp_path: Path) -> None:
    first = _store_one()
    second = _store_one("2026-11-25T10:00:00+00:00")
    done = _perflab("report", "-o", "page.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "page.html").read_text()
    assert f'data-result="{first}"' in html and f'data-result="{second}"' in html
    assert "wrote page.html" in done.stdout and "Benchmarks" in done.stdout
    only = _perflab("report", str(second), "-o", "one.html", cwd=tmp_path)
    assert only.returncode == 0, only.stderr
    assert f'data-result="{first}"' not in (tmp_path / "one.html").read_text()
    since = _perflab("report", "--since", "2026-11-24", "-o", "since.html", cwd=tmp_path)
    assert since.returncode == 0, since.stderr
    text = (tmp_path / "since.html").read_text()
    assert f'data-result="{second}"' in text and f'data-result="{first}"' not in text


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    _store_one()
    for args, words in ((["--since", "yesterday"], "--since 'yesterday' is not a date"),
                        (["999"], "no benchmark with id 999"),
                        (["--suite", "nope"], "no stored result belongs to suite 'nope'")):
        done = _perflab("report", *args, "-o", "bad.html", cwd=tmp_path)
        assert done.returncode != 0
        assert done.stderr.strip().count("\n") == 0 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / "bad.html").exists()
    (tmp_path / "dir.html").mkdir()
    done = _perflab("report", "-o", "dir.html", cwd=tmp_path)
    assert done.returncode != 0 and "is a directory" in done.stderr


def test_empty_store_still_gives_a_page_that_says_so(tmp_path: Path) -> None:
    done = _perflab("report", "-o", "empty.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0 result(s)" in (tmp_path / "empty.html").read_text()
