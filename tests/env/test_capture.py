"""Environment capture against this machine's real /proc and /sys, read independently here."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from perflab.env.capture import capture_environment
from perflab.env.detect import detect_container, detect_vm


def _cpuinfo_field(name: str) -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.split(":")[0].strip() == name:
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} not in /proc/cpuinfo")


def test_values_match_proc_and_sys() -> None:
    env = capture_environment()
    json.dumps(env)  # JSON-friendly, stored as is
    assert env["cpu_model"] == _cpuinfo_field("model name")
    assert env["cpu_flags"] == _cpuinfo_field("flags").split()
    assert env["cores_logical"] == os.cpu_count()
    assert env["kernel_release"] == os.uname().release
    assert env["kernel_cmdline"] == Path("/proc/cmdline").read_text().strip()
    assert env["aslr"] == int(Path("/proc/sys/kernel/randomize_va_space").read_text())
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    assert f"[{env['thp']}]" in thp
    assert len(env["loadavg"]) == 3
    assert env["hostname"] == os.uname().nodename


def test_cpufreq_absent_is_recorded_as_vm() -> None:
    env = capture_environment()
    policies = list(Path("/sys/devices/system/cpu/cpufreq").glob("policy*"))
    if not policies and env["vm"]["detected"]:
        assert env["governor"] == "none: VM"
        assert "governor" in env["unavailable"]
    else:
        governor = (policies[0] / "scaling_governor").read_text().strip()
        assert governor in env["governor"]


def test_this_firecracker_vm_is_a_vm_and_not_a_container() -> None:
    """This CI machine is a Firecracker VM whose root fs came from a Docker image (/.dockerenv)."""
    vm = detect_vm()
    assert vm.detected
    assert "cpuinfo flag 'hypervisor'" in vm.evidence
    container = detect_container()
    assert not container.detected
    # The marker is there but namespace evidence overrules it.
    if Path("/.dockerenv").exists():
        assert any(".dockerenv" in c for c in container.counter_evidence)
    assert os.stat("/proc/self/ns/pid").st_ino == 0xEFFFFFFC


def test_git_commit_and_dirty_flag(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("1")
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    env = capture_environment(tmp_path)
    assert env["git"] == {"commit": head, "dirty": False}
    (tmp_path / "f").write_text("2")
    assert capture_environment(tmp_path)["git"] == {"commit": head, "dirty": True}


def test_no_git_is_none_with_reason(tmp_path: Path) -> None:
    env = capture_environment(tmp_path)
    assert env["git"] is None
    assert "git" in env["unavailable"]


def test_missing_sources_become_none_with_reason(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """/proc and /sys cannot be removed on this machine, so the file reader is replaced by one that
    finds nothing (as on a kernel without those files); capture must still succeed and say why."""
    import perflab.env.capture as capture
    import perflab.env.detect as detect

    monkeypatch.setattr(capture, "read_text", lambda *a, **k: None)
    monkeypatch.setattr(detect, "read_text", lambda *a, **k: None)
    env = capture_environment()
    json.dumps(env)
    for key in ("cpu_model", "kernel_cmdline", "thp", "aslr", "smt"):
        assert key in env["unavailable"], key
    assert env["cpu_model"] is None and env["aslr"] is None and env["thp"] is None
    assert "/proc/cpuinfo unreadable" in env["vm"]["unavailable"]


def test_a_removed_working_directory_is_a_reason_not_a_traceback(tmp_path: Path) -> None:
    """Seen in CI: the clone a run worked in was removed mid-run, and `Path.cwd()` in the capture turned
    every later `perflab bench` into a FileNotFoundError traceback."""
    import subprocess
    import sys

    import perflab

    gone = tmp_path / "gone"
    gone.mkdir()
    code = ("import os, sys\nos.chdir(sys.argv[1]); os.rmdir(sys.argv[1])\n"
            "from perflab.cli import main\n"
            "sys.argv = ['perflab', 'bench', '--runs', '2', '-q', '--json', 'true']\nmain()\n")
    src = str(Path(perflab.__file__).parents[1])
    proc = subprocess.run([sys.executable, "-c", code, str(gone)], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": src, "HOME": str(tmp_path),
                                            "PERFLAB_DB": f"sqlite:///{tmp_path / 'p.db'}"})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    env = json.loads(proc.stdout)["environment"]
    assert env["git"] is None and "no working directory" in env["unavailable"]["git"]
