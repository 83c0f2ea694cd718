"""apply → verify → rollback on real /proc/sys and /sys values (root in the test VM; all restored)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.system import journal
from perflab.system.apply import apply_settings, restore, rollback, status
from perflab.system.audit import verify
from perflab.system.knobs import get_knob

from .conftest import child_env, knob_files, other_value, perflab_cmd, snapshot

pytestmark = pytest.mark.root


def _raw(name: str) -> bytes:
    return knob_files()[name].read_bytes()


def _changes(machine: dict[str, bytes]) -> dict[str, str]:
    """Settings that differ from the current machine state, over several kinds of knob."""
    swappiness = get_knob("vm.swappiness").read()
    thp = get_knob("transparent_hugepage.enabled").read()
    rmem = get_knob("net.ipv4.tcp_rmem").read().split()
    somaxconn = int(get_knob("net.core.somaxconn").read())
    aslr = get_knob("kernel.randomize_va_space").read()
    mtu = get_knob("net.ipv4.tcp_mtu_probing").read()
    return {
        "vm.swappiness": other_value(swappiness, ["13", "17"]),
        "transparent_hugepage.enabled": other_value(thp, ["never", "madvise"]),
        "net.ipv4.tcp_rmem": f"{rmem[0]} {int(rmem[1]) + 4096} {rmem[2]}",
        "net.core.somaxconn": f">={somaxconn + 128}",
        "kernel.randomize_va_space": other_value(aslr, ["1", "2"]),
        "net.ipv4.tcp_mtu_probing": other_value(mtu, ["1", "2"]),
        "vm.dirty_bytes": "67108864",  # switches the pair from ratio to bytes
    }


def test_apply_verify_rollback_restores_every_knob_byte_identical(machine: dict[str, bytes]) -> None:
    settings = _changes(machine)
    report = apply_settings(settings, label="test")
    assert [r.status for r in report.results] == ["applied"] * len(settings), report.results
    for result in report.results:  # applied means read back from the kernel
        assert get_knob(result.knob).read() == result.after
    assert _raw("vm.dirty_ratio").strip() == b"0"  # the kernel zeroed the partner

    rows = verify(settings)
    assert {row.status for row in rows} == {"ok"}, rows
    in_force = {e.knob for e in status() if e.in_force}
    assert in_force == set(settings)

    back = rollback()
    assert back.ok and {r.status for r in back.results} == {"restored"}
    assert snapshot() == machine  # byte-identical, dirty pair included
    assert status() == [] and not journal.journal_path().exists()


def test_journal_is_private_and_written_before_the_change(machine: dict[str, bytes]) -> None:
    wanted = other_value(get_knob("vm.swappiness").read(), ["13", "17"])
    apply_settings({"vm.swappiness": wanted})
    path = journal.journal_path()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    records = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = [r["type"] for r in records]
    assert kinds == ["begin", "intent", "result", "end"]
    assert records[0]["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert records[1]["before"] == machine["vm.swappiness"].decode().strip()
    rollback()


def test_value_the_kernel_rejects_is_not_applicable_and_the_rest_applies(machine: dict[str, bytes]) -> None:
    aslr = other_value(get_knob("kernel.randomize_va_space").read(), ["1", "2"])
    report = apply_settings(
        {"net.core.default_qdisc": "fq", "vm.swappiness": "201", "kernel.randomize_va_space": aslr}
    )
    by_knob = {r.knob: r for r in report.results}
    assert by_knob["net.core.default_qdisc"].status == "not-applicable"
    assert "fq" in by_knob["net.core.default_qdisc"].reason
    assert _raw("net.core.default_qdisc") == machine["net.core.default_qdisc"]
    # 201 passes perflab's checks; the kernel's range check (0..200) refuses it with EINVAL
    assert by_knob["vm.swappiness"].status == "not-applicable"
    assert "Invalid argument" in by_knob["vm.swappiness"].reason
    assert _raw("vm.swappiness") == machine["vm.swappiness"]
    assert by_knob["kernel.randomize_va_space"].status == "applied"
    assert report.ok
    rollback()
    assert snapshot() == machine


def test_alternatives_take_the_first_value_that_works(machine: dict[str, bytes]) -> None:
    knob = get_knob("transparent_hugepage.defrag")
    target = other_value(knob.read(), knob.options() or [])
    report = apply_settings({knob.name: f"nosuchmode|{target}"})
    assert report.results[0].status == "applied" and knob.read() == target
    rollback()
    assert snapshot() == machine


def test_a_write_that_does_not_take_rolls_back_this_call(machine: dict[str, bytes]) -> None:
    """tcp_wmem given two numbers: the kernel accepts the write but keeps its third number, so the value
    reads back different from what was asked: failed, and the earlier knobs are put back."""
    swappiness = other_value(get_knob("vm.swappiness").read(), ["13", "17"])
    thp = other_value(get_knob("transparent_hugepage.enabled").read(), ["never", "madvise"])
    somaxconn = str(int(get_knob("net.core.somaxconn").read()) + 64)
    report = apply_settings(
        {
            "vm.swappiness": swappiness,
            "transparent_hugepage.enabled": thp,
            "net.ipv4.tcp_wmem": "4096 20000",
            "net.core.somaxconn": somaxconn,
        }
    )
    statuses = [r.status for r in report.results]
    assert statuses == ["rolled-back", "rolled-back", "failed", "skipped"], report.results
    assert "reads back" in report.results[2].reason
    assert not report.ok and report.rolled_back
    assert snapshot() == machine
    assert status() == []


def test_keep_partial_leaves_the_earlier_knobs_for_rollback(machine: dict[str, bytes]) -> None:
    swappiness = other_value(get_knob("vm.swappiness").read(), ["13", "17"])
    report = apply_settings(
        {"vm.swappiness": swappiness, "net.ipv4.tcp_wmem": "4096 20000"}, keep_partial=True
    )
    assert [r.status for r in report.results] == ["applied", "failed"]
    assert get_knob("vm.swappiness").read() == swappiness
    assert [e.knob for e in status()] == ["vm.swappiness"]
    restored = restore(report)
    assert [r.status for r in restored.results] == ["restored"]
    assert snapshot() == machine


def test_dry_run_writes_nothing(machine: dict[str, bytes]) -> None:
    report = apply_settings(_changes(machine), dry_run=True)
    assert {r.status for r in report.results} == {"skipped"}
    assert snapshot() == machine and not journal.journal_path().exists()


def test_two_applies_do_not_interleave(machine: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "LOCK_TIMEOUT", 0.2)
    with journal.locked(), pytest.raises(PerflabError, match="another perflab tuning is running"):
        apply_settings({"vm.swappiness": other_value(get_knob("vm.swappiness").read(), ["13", "17"])})
    assert snapshot() == machine


def test_unknown_knob_is_refused_before_anything() -> None:
    with pytest.raises(PerflabError, match="unknown knob 'vm.nonsense'"):
        apply_settings({"vm.swappiness": "10", "vm.nonsense": "1"})
    assert not journal.journal_path().exists()


def _wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _profile_file(tmp_path: Path, settings: dict[str, str]) -> Path:
    profile = tmp_path / "changes.toml"
    body = "\n".join(f'"{k}" = "{v}"' for k, v in settings.items())
    profile.write_text(f"[settings]\n{body}\n")
    return profile


def _first_result_journaled() -> bool:
    """The child wrote its first knob and is pausing before the next (PERFLAB_TEST_APPLY_PAUSE)."""
    path = journal.journal_path()
    return path.exists() and '"type": "result"' in path.read_text()


@pytest.mark.slow
def test_sigkill_mid_apply_then_rollback_restores_all(machine: dict[str, bytes], tmp_path: Path) -> None:
    profile = _profile_file(tmp_path, _changes(machine))
    child = subprocess.Popen(
        perflab_cmd("system", "apply", "--profile-file", str(profile)),
        env=child_env(PERFLAB_TEST_APPLY_PAUSE="60"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(_first_result_journaled)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    entries = status()
    assert [e.knob for e in entries] == ["vm.swappiness"] and entries[0].in_force
    assert snapshot() != machine  # the kill left a change behind

    done = subprocess.run(perflab_cmd("system", "rollback"), env=child_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "vm.swappiness" in done.stdout and "restored" in done.stdout
    assert snapshot() == machine
    after = subprocess.run(perflab_cmd("system", "status"), env=child_env(), capture_output=True, text=True)
    assert "changed nothing" in after.stdout


@pytest.mark.slow
def test_ctrl_c_mid_apply_puts_back_what_was_applied(machine: dict[str, bytes], tmp_path: Path) -> None:
    profile = _profile_file(tmp_path, _changes(machine))
    # A shell's background job inherits SIGINT ignored; give the child the default so Python sees Ctrl-C.
    child = subprocess.Popen(
        perflab_cmd("system", "apply", "--profile-file", str(profile)),
        env=child_env(PERFLAB_TEST_APPLY_PAUSE="60"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _wait_for(_first_result_journaled)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    # The exit status belongs to the CLI root (typer returns 130 there); this test checks the machine.
    assert child.returncode is not None and child.returncode != -signal.SIGKILL, stderr
    assert snapshot() == machine
    assert status() == []


def test_rollback_after_reboot_reports_instead_of_writing(machine: dict[str, bytes]) -> None:
    """A real reboot cannot happen inside a test: the journal's boot id is rewritten to a foreign one,
    which is exactly what rollback sees after a reboot."""
    wanted = other_value(get_knob("vm.swappiness").read(), ["13", "17"])
    apply_settings({"vm.swappiness": wanted})
    path = journal.journal_path()
    path.write_text(path.read_text().replace(journal.boot_id(), "00000000-0000-0000-0000-000000000000"))
    report = rollback()
    assert report.rebooted and "already reset" in report.message and "vm.swappiness" in report.message
    assert [r.status for r in report.results] == ["differs-since-reboot"]
    assert get_knob("vm.swappiness").read() == wanted  # nothing written for a previous boot
    assert status() == []


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _python_for_nobody() -> str:
    """An interpreter that user nobody can run with perflab's dependencies importable (pyenv under a
    0700 /root is not; a virtualenv outside /root is)."""
    import shutil
    import sys

    candidates = [sys.executable, str(Path(sys.prefix) / "bin" / "python"), "/work/venv/bin/python"]
    for python in dict.fromkeys(candidates):
        if not shutil.which(python):
            continue
        probe = subprocess.run(
            [*NOBODY, python, "-c", "import typer, rich, perflab.cli"],
            cwd="/",
            env=child_env(),
            capture_output=True,
        )
        if probe.returncode == 0:
            return python
    pytest.fail(f"no interpreter among {candidates} can import perflab as nobody")


def test_unprivileged_run_changes_nothing_and_exits_2(machine: dict[str, bytes], tmp_path: Path) -> None:
    python = _python_for_nobody()
    state = tmp_path / "nobody-state"
    for args in (["system", "apply", "p2p-node"], ["system", "rollback"]):
        run = subprocess.run(
            [*NOBODY, python, "-m", "perflab", *args],
            cwd="/",
            env=child_env(PERFLAB_STATE_DIR=str(state)),
            capture_output=True,
            text=True,
        )
        assert run.returncode == 2, run.stderr
        assert "needs root" in run.stderr and "nothing was changed" in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
    run = subprocess.run(
        [*NOBODY, python, "-m", "perflab", "system", "audit", "--json"],
        cwd="/",
        env=child_env(PERFLAB_STATE_DIR=str(state)),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)["knobs"]
    assert rows and not any(row["changeable"] for row in rows)
    assert any(row["reason"] == "needs root" for row in rows)
    assert snapshot() == machine


def test_cstate_deep_with_nothing_to_disable_is_not_applicable_and_the_rest_applies(
    machine: dict[str, bytes],
) -> None:
    """This VM's cpuidle states are POLL and 'haltpoll idle': ``deep`` has nothing to write. Before the
    fix it failed the read-back and rolled back every profile that names it (latency, benchmark...)."""
    cpuidle = Path("/sys/devices/system/cpu")
    names = {p.read_text().strip() for p in cpuidle.glob("cpu[0-9]*/cpuidle/state[0-9]*/name")}
    if not names or len(names - {"POLL"}) > 1:
        pytest.skip(f"this machine has deep C-states to disable ({sorted(names)}): not the case under test")
    wanted = other_value(get_knob("vm.swappiness").read(), ["13", "17"])
    report = apply_settings({"cpu.cstate_disable": "deep", "vm.swappiness": wanted})
    by_knob = {r.knob: r for r in report.results}
    assert by_knob["cpu.cstate_disable"].status == "not-applicable"
    assert "no deep C-state to disable here" in by_knob["cpu.cstate_disable"].reason
    assert by_knob["vm.swappiness"].status == "applied" and report.ok
    rollback()
