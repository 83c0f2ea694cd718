"""The instructions metric on this machine: perf has no counters here, so valgrind counts (simulated)."""

from __future__ import annotations

import shutil

import pytest

from perflab.bench.instructions import InstructionCounter, find_counter, parse_count

LOOP = ["sh", "-c", "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done"]


def test_parse_perf_and_valgrind_output() -> None:
    assert parse_count("perf", "# started\n123456,,instructions:u,1000,100.00,,\n") == 123456
    assert parse_count("perf", "<not supported>,,instructions:u,0,100.00,,\n") is None
    assert parse_count("valgrind", "==1== \n==1== I   refs:      1,392,168\n") == 1392168


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (.ci/system-deps)")
def test_valgrind_counts_agree_within_a_tenth_of_a_percent() -> None:
    counter = InstructionCounter("valgrind", shutil.which("valgrind") or "valgrind")
    first, second = counter.count(LOOP), counter.count(LOOP)
    assert first > 100_000
    assert abs(first - second) / first < 0.001, (first, second)
    assert "simulated" in counter.label


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (.ci/system-deps)")
def test_the_counter_found_here_counts_a_program() -> None:
    counter = find_counter()  # perf where counters exist, else valgrind (this VM: valgrind)
    assert counter.kind in ("perf", "valgrind")
    more = counter.count(["sh", "-c", "i=0; while [ $i -lt 6000 ]; do i=$((i+1)); done"])
    assert more > counter.count(LOOP)  # twice the loop: more instructions, whatever the counter
