"""``perflab.tuning.apply_runtime`` in a real child interpreter (so its atexit undo really runs), on real
/proc/sys knobs; every test puts the machine back in a ``finally``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.tuning import apply_runtime

CC = Path("/proc/sys/net/ipv4/tcp_congestion_control")
AVAILABLE = Path("/proc/sys/net/ipv4/tcp_available_congestion_control").read_text().split()
ROOT = os.geteuid() == 0


@pytest.fixture
def cc_restored() -> Iterator[tuple[str, str]]:
    """(original, another available congestion control); the original is written back whatever happens."""
    original = CC.read_text().strip()
    other = next(c for c in AVAILABLE if c != original)
    try:
        yield original, other
    finally:
        if ROOT and CC.read_text().strip() != original:
            CC.write_text(original)


def run_child(body: str, *, env: dict[str, str] | None = None, user: int | None = None) -> dict:
    """Run ``body`` in a fresh interpreter; the JSON objects it prints (one per line) are merged."""
    code = "import json, os, sys\nfrom perflab.tuning import apply_runtime\n" \
           "from perflab.system.process import ProcessTuning\n" + textwrap.dedent(body)
    child_env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), **(env or {}))
    argv = [sys.executable, "-c", code]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, env=child_env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    merged: dict = {}
    for line in proc.stdout.splitlines():
        merged.update(json.loads(line))
    return merged


def test_disabled_by_environment_changes_nothing(cc_restored: tuple[str, str]) -> None:
    original, other = cc_restored
    out = run_child(f"""
        r = apply_runtime({{"net.ipv4.tcp_congestion_control": "{other}"}},
                          process=ProcessTuning.from_options(nice=3))
        print(json.dumps({{"report": r.to_dict(), "nice": os.getpriority(os.PRIO_PROCESS, 0),
                           "summary": r.summary()}}))
    """, env={"PERFLAB_DISABLE_TUNING": "1"})
    assert out["report"]["enabled"] is False
    assert out["report"]["outcomes"] == []
    assert "PERFLAB_DISABLE_TUNING=1" in out["summary"]
    assert out["nice"] == os.getpriority(os.PRIO_PROCESS, 0)
    assert CC.read_text().strip() == original


@pytest.mark.skipif(not ROOT, reason="writes /proc/sys: needs root")
def test_system_knob_applied_and_restored_at_exit(cc_restored: tuple[str, str]) -> None:
    original, other = cc_restored
    out = run_child(f"""
        r = apply_runtime({{"net.ipv4.tcp_congestion_control": "{other}"}}, restore_at_exit=True)
        now = open("{CC}").read().strip()
        print(json.dumps({{"report": r.to_dict(), "now": now}}))
    """)
    (outcome,) = out["report"]["outcomes"]
    assert outcome["status"] == "applied" and outcome["observed"] == other
    assert out["now"] == other
    assert CC.read_text().strip() == original  # undone by the child's atexit handler


@pytest.mark.skipif(not ROOT, reason="writes /proc/sys: needs root")
def test_system_knob_stays_and_is_journaled(cc_restored: tuple[str, str]) -> None:
    """Without restore_at_exit the change outlives the process, and the journal can still undo it."""
    from perflab.system.apply import rollback

    original, other = cc_restored
    out = run_child(f"""
        r = apply_runtime({{"net.ipv4.tcp_congestion_control": "{other}"}})
        print(json.dumps(r.to_dict()))
    """)
    assert out["outcomes"][0]["status"] == "applied"
    assert CC.read_text().strip() == other
    report = rollback()
    assert report.ok, report.to_dict()
    assert CC.read_text().strip() == original


@pytest.mark.skipif(not ROOT, reason="writes /proc/sys: needs root")
def test_refused_knobs_carry_reasons_and_others_still_apply(cc_restored: tuple[str, str]) -> None:
    original, other = cc_restored
    report = apply_runtime({
        "net.core.default_qdisc": "fq_codel_does_not_exist",
        "cpu.governor": "performance",
        "net.ipv4.tcp_congestion_control": other,
    }, restore_at_exit=True)
    try:
        by_name = {o.name: o for o in report.outcomes}
        assert by_name["net.core.default_qdisc"].status == "refused"
        assert by_name["net.core.default_qdisc"].reason
        if not list(Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_governor")):
            assert by_name["cpu.governor"].status == "refused"
            assert "cpufreq" in by_name["cpu.governor"].reason
        assert by_name["net.ipv4.tcp_congestion_control"].status == "applied"
        assert CC.read_text().strip() == other
        assert "refused" in report.summary()
    finally:
        assert report.undo() == []
    assert CC.read_text().strip() == original


def test_unknown_knob_is_an_error_before_any_change(cc_restored: tuple[str, str]) -> None:
    original, other = cc_restored
    with pytest.raises(PerflabError, match="unknown knob"):
        apply_runtime({"net.ipv4.tcp_congestion_control": other, "vm.not_a_knob": "1"})
    assert CC.read_text().strip() == original


def test_process_settings_undone_at_exit() -> None:
    """The checker is registered before apply_runtime, so atexit runs it after perflab's undo."""
    out = run_child("""
        import atexit
        def state():
            return {"aff": sorted(os.sched_getaffinity(0)), "nice": os.getpriority(os.PRIO_PROCESS, 0),
                    "thp": open("/proc/self/status").read().split("THP_enabled:")[1].split()[0],
                    "mpol": [l.split()[1] for l in open("/proc/self/numa_maps") if "stack" in l][0]}
        before = state()
        atexit.register(lambda: print(json.dumps({"after_exit": state(), "before": before})))
        cpu = sorted(os.sched_getaffinity(0))[-1]
        r = apply_runtime({}, process=ProcessTuning.from_options(pin=str(cpu), nice=4, thp="never",
                                                                 membind="0"))
        print(json.dumps({"during": state()}))
    """)
    assert out["during"] == {"aff": [out["during"]["aff"][0]], "nice": 4, "thp": "0", "mpol": "bind:0"}
    assert out["before"]["mpol"] == "default" and out["before"]["thp"] == "1"
    assert out["after_exit"] == out["before"]


def test_process_settings_report() -> None:
    out = run_child("""
        import threading, time
        cpu = sorted(os.sched_getaffinity(0))[-1]
        worker = threading.Thread(target=lambda: time.sleep(0.5)); worker.start()
        r = apply_runtime({}, process=ProcessTuning.from_options(pin=str(cpu), nice=4, thp="never",
                                                                 membind="0", no_aslr=True))
        tids = os.listdir("/proc/self/task")
        print(json.dumps({"report": r.to_dict(), "cpu": cpu, "nice": os.getpriority(os.PRIO_PROCESS, 0),
                          "thp": open("/proc/self/status").read().split("THP_enabled:")[1].split()[0],
                          "thread_aff": [sorted(os.sched_getaffinity(int(t))) for t in tids]}))
        worker.join()
    """)
    by_name = {o["name"]: o for o in out["report"]["outcomes"]}
    assert by_name["process.pin"]["status"] == "applied"
    assert by_name["process.pin"]["observed"] == str(out["cpu"])
    assert all(aff == [out["cpu"]] for aff in out["thread_aff"])  # every thread, not only the caller
    assert by_name["process.nice"] == {"name": "process.nice", "requested": "4", "status": "applied",
                                       "observed": "4", "reason": ""}
    assert out["nice"] == 4
    assert by_name["process.thp"]["status"] == "applied" and out["thp"] == "0"
    assert by_name["process.membind"]["status"] == "applied"
    assert by_name["process.membind"]["observed"] == "bind:0"
    assert "calling thread" in by_name["process.membind"]["reason"]
    assert by_name["process.no_aslr"]["status"] == "refused"
    assert "already laid out" in by_name["process.no_aslr"]["reason"]


@pytest.mark.skipif(not ROOT, reason="needs root to drop to an unprivileged user")
def test_unprivileged_caller_gets_a_report_not_an_exception(cc_restored: tuple[str, str]) -> None:
    original, other = cc_restored
    out = run_child(f"""
        r = apply_runtime({{"net.ipv4.tcp_congestion_control": "{other}"}},
                          process=ProcessTuning.from_options(sched="fifo:5", nice=2))
        print(json.dumps(r.to_dict()))
    """, user=65534)
    by_name = {o["name"]: o for o in out["outcomes"]}
    assert by_name["net.ipv4.tcp_congestion_control"]["status"] == "refused"
    assert "root" in by_name["net.ipv4.tcp_congestion_control"]["reason"]
    assert by_name["process.sched"]["status"] == "refused"
    assert "permission denied" in by_name["process.sched"]["reason"]
    assert by_name["process.nice"]["status"] == "applied"  # raising nice needs no privilege
    assert CC.read_text().strip() == original


@pytest.mark.skipif(not ROOT, reason="writes /proc/sys and /sys: needs root")
def test_shipped_profile_applied_and_every_knob_restored_at_exit() -> None:
    """A whole shipped profile in a child with restore_at_exit: every knob it touched reads back
    byte-identical after the child exits; knobs this VM lacks are refused with their reason."""
    from perflab.system.knobs import read_values
    from perflab.system.profiles import load_profile

    names = list(load_profile("network-throughput").settings)

    def snapshot() -> dict[str, str | None]:
        return read_values(names)

    before = snapshot()
    try:
        out = run_child("""
            r = apply_runtime("network-throughput", restore_at_exit=True)
            print(json.dumps(r.to_dict()))
        """)
        statuses = {o["name"]: o["status"] for o in out["outcomes"]}
        assert set(statuses) == set(names)
        assert "applied" in statuses.values()
        for o in out["outcomes"]:
            if before[o["name"]] is None:  # no such file here (cpufreq in a VM): refused, with the reason
                assert o["status"] == "refused" and o["reason"]
        assert snapshot() == before
    finally:
        from perflab.system.apply import rollback

        rollback()  # only does something if the child died before its atexit undo
