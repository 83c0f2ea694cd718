"""SIGKILL campaign: kill `perflab system apply` and `perflab bench` at random moments, then check.

Journal: each trial starts `perflab system apply --profile-file P` (7 knobs, 50 ms pause after each write
via PERFLAB_TEST_APPLY_PAUSE), SIGKILLs it a random 0 – 450 ms after its journal appears (between
any two writes, or after the last), runs `perflab system rollback`, and compares
the raw bytes of every knob file with the snapshot taken before. A trial passes when rollback exits 0
and every byte is back.

Store: each trial starts `perflab bench --runs 1000 -- sh -c 'echo x >> F; sleep 0.01'`, SIGKILLs its
process group a random 0 – 2 s after its first run, and checks that the store opens, and that the result
(if any) is marked interrupted and holds no more runs than were executed.

Needs root and changes real /proc/sys and /sys values (all restored): run it under the shared lock::

    flock /tmp/perflab-proc-sys.lock python benchmarks/sigkill_campaign.py --journal 100 --store 30 \\
        --out sigkill.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KNOBS = {
    "vm.swappiness": "/proc/sys/vm/swappiness",
    "net.core.somaxconn": "/proc/sys/net/core/somaxconn",
    "kernel.randomize_va_space": "/proc/sys/kernel/randomize_va_space",
    "net.ipv4.tcp_mtu_probing": "/proc/sys/net/ipv4/tcp_mtu_probing",
    "vm.dirty_ratio": "/proc/sys/vm/dirty_ratio",
    "vm.dirty_bytes": "/proc/sys/vm/dirty_bytes",
    "transparent_hugepage.enabled": "/sys/kernel/mm/transparent_hugepage/enabled",
    "net.ipv4.tcp_rmem": "/proc/sys/net/ipv4/tcp_rmem",
}


def snapshot() -> dict[str, bytes]:
    return {name: Path(path).read_bytes() for name, path in KNOBS.items()}


def profile_text(current: dict[str, bytes]) -> str:
    def other(name: str, choices: list[str]) -> str:
        now = current[name].decode().strip()
        return next(c for c in choices if c != now)

    thp = "never" if b"[never]" not in current["transparent_hugepage.enabled"] else "madvise"
    rmem = current["net.ipv4.tcp_rmem"].decode().split()
    settings = {
        "vm.swappiness": other("vm.swappiness", ["13", "17"]),
        "net.core.somaxconn": str(int(current["net.core.somaxconn"]) + 128),
        "kernel.randomize_va_space": other("kernel.randomize_va_space", ["1", "2"]),
        "net.ipv4.tcp_mtu_probing": other("net.ipv4.tcp_mtu_probing", ["1", "2"]),
        "vm.dirty_bytes": "67108864",
        "transparent_hugepage.enabled": thp,
        "net.ipv4.tcp_rmem": f"{rmem[0]} {int(rmem[1]) + 4096} {rmem[2]}",
    }
    return "[settings]\n" + "\n".join(f'"{k}" = "{v}"' for k, v in settings.items()) + "\n"


def journal_trials(n: int, rng: random.Random, work: Path) -> dict:
    env = dict(os.environ, PERFLAB_STATE_DIR=str(work / "state"))
    before = snapshot()
    profile = work / "p.toml"
    profile.write_text(profile_text(before))
    results = {"trials": 0, "restored_byte_identical": 0, "rollback_failed": 0, "killed_before_any_write": 0,
               "left_changes_before_rollback": 0, "failures": []}
    for trial in range(n):
        delay = rng.uniform(0.0, 0.45)
        child = subprocess.Popen([sys.executable, "-m", "perflab", "system", "apply", "--profile-file",
                                  str(profile)], env={**env, "PERFLAB_TEST_APPLY_PAUSE": "0.05"},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        journal = work / "state" / "tuning-journal.jsonl"
        deadline = time.monotonic() + 30
        while not journal.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)  # start-up is not what is under test: wait for the first record
        time.sleep(delay)  # 7 knobs x 0.05 s pause: the kill lands before, between or after writes
        child.kill()
        child.wait()
        changed = snapshot() != before
        results["left_changes_before_rollback"] += changed
        results["killed_before_any_write"] += not changed
        done = subprocess.run([sys.executable, "-m", "perflab", "system", "rollback"], env=env,
                              capture_output=True, text=True)
        after = snapshot()
        results["trials"] += 1
        if done.returncode != 0:
            results["rollback_failed"] += 1
            results["failures"].append({"trial": trial, "delay": delay, "stderr": done.stderr[-300:]})
        if after == before:
            results["restored_byte_identical"] += 1
        else:
            diff = [k for k in KNOBS if after[k] != before[k]]
            results["failures"].append({"trial": trial, "delay": delay, "differ": diff})
            for name in diff:  # put it back by hand so the next trial starts clean
                value = before[name].decode()
                if name == "transparent_hugepage.enabled":
                    value = value.split("[")[1].split("]")[0]
                if value.strip() != "0":
                    Path(KNOBS[name]).write_text(" ".join(value.split()))
    return results


def store_trials(n: int, rng: random.Random, work: Path) -> dict:
    from perflab.store.db import Store

    results = {"trials": 0, "stored_marked_interrupted": 0, "nothing_stored": 0, "runs_kept": 0,
               "runs_executed": 0, "store_unreadable": 0, "failures": []}
    for trial in range(n):
        db = work / f"s{trial}.db"
        count = work / f"count{trial}"
        env = dict(os.environ, PERFLAB_DB=f"sqlite:///{db}", PERFLAB_STATE_DIR=str(work / "state"))
        child = subprocess.Popen([sys.executable, "-m", "perflab", "bench", "--runs", "1000", "-q", "--",
                                  "sh", "-c", f"echo x >> {count}; sleep 0.01"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while not count.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 2.0))
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        executed = len(count.read_text().split()) if count.exists() else 0
        results["trials"] += 1
        results["runs_executed"] += executed
        try:
            with Store.open(f"sqlite:///{db}") as store:
                listing = store.list()
                if not listing:
                    results["nothing_stored"] += 1
                    continue
                bench = store.get(listing[0].id)
        except Exception as error:  # noqa: BLE001 — the campaign records any failure
            results["store_unreadable"] += 1
            results["failures"].append({"trial": trial, "error": str(error)[:300]})
            continue
        runs = sum(len(c.runs) for c in bench.commands)
        results["runs_kept"] += runs
        if bench.status == "interrupted" and runs <= executed:
            results["stored_marked_interrupted"] += 1
        else:
            results["failures"].append({"trial": trial, "status": bench.status, "runs": runs,
                                        "executed": executed})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journal", type=int, default=100, help="apply/kill/rollback trials")
    parser.add_argument("--store", type=int, default=30, help="bench/kill trials")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (writes real knobs, all restored)")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="perflab-sigkill-") as tmp:
        out = {"seed": args.seed, "kernel": os.uname().release, "time": time.strftime("%Y-%m-%d %H:%M:%S"),
               "journal": journal_trials(args.journal, rng, Path(tmp)),
               "store": store_trials(args.store, rng, Path(tmp))}
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
