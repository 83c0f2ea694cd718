#!/usr/bin/env python3
"""Benchmark: `perflab vm` boot-to-command against the floor, a bare QEMU boot of the same kernel.

The floor: ``qemu-system-x86_64 -machine microvm … -kernel vmlinux -initrd`` with an initramfs holding
only static busybox and an /init that powers off at once — the least any tool can do to boot that kernel
to user space. perflab: the same QEMU, kernel and kernel command line through perflab's engine
(``run_boot``: its initramfs loads virtio/9p/overlay, mounts the host filesystem, switches root and
runs ``true``). Both are timed on the host from starting QEMU; perflab's figure is its boot-to-command
(QEMU start → the guest's "ready" mark) and, separately, the whole boot (QEMU start → QEMU gone, which
adds running the command, saving the kernel log and rebooting).

The two alternate in random order inside each block (never all floor then all perflab), n blocks; the
ratio of medians comes with perflab's bootstrap CI. Target: boot-to-command ≤ 1.5 × the floor.
Emulated (TCG) timings: they describe this machine's emulation, not hardware.

Usage:
    python benchmarks/vm_boot.py --kernel /var/cache/perflab-ci/kernels/linux-image-6.1.0-57-amd64_*.deb \
        --n 15 --out vm_boot.json
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import tempfile
import time
from pathlib import Path

import numpy as np

from perflab.lab.vm_session import VmOptions, prepare_kernel
from perflab.stats import compare
from perflab.vm import guest
from perflab.vm.boot import run_boot
from perflab.vm.initramfs import build_archive, busybox_path
from perflab.vm.qemu import Machine, boot, qemu_argv

FLOOR_INIT = "#!/bin/busybox sh\n/bin/busybox reboot -f\n"


def floor_initrd(directory: Path) -> Path:
    files = {"init": (stat.S_IFREG | 0o755, FLOOR_INIT.encode()),
             "bin/busybox": (stat.S_IFREG | 0o755, busybox_path().read_bytes())}
    path = directory / "floor.cpio"
    path.write_bytes(build_archive(files, ["bin"]))
    return path


def floor_boot(prepared, initrd: Path, timeout: float) -> float | None:
    machine: Machine = prepared.machine
    argv = qemu_argv(prepared.kernel, initrd, None, machine)
    outcome = boot(argv, timeout)
    return None if outcome.timed_out or outcome.returncode != 0 else outcome.host_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--n", type=int, default=15, help="blocks (one floor boot + one perflab boot each)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    prepared = prepare_kernel(args.kernel, VmOptions(accel="tcg", timeout_s=args.timeout))
    rng = np.random.default_rng(args.seed)
    floor: list[float] = []
    ready: list[float] = []
    total: list[float] = []
    hung = {"floor": 0, "perflab": 0}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        initrd = floor_initrd(Path(tmp))
        floor_boot(prepared, initrd, args.timeout)  # warm the page cache for both images
        run_boot(prepared, guest.Job(["true"], cwd="/"), args.timeout)
        for block in range(args.n):
            for side in rng.permutation(["floor", "perflab"]):
                if side == "floor":
                    value = floor_boot(prepared, initrd, args.timeout)
                    if value is None:
                        hung["floor"] += 1
                    else:
                        floor.append(value)
                else:
                    result = run_boot(prepared, guest.Job(["true"], cwd="/"), args.timeout)
                    if result.status != "ok" or result.host_ready_s is None:
                        hung["perflab"] += 1
                    else:
                        ready.append(result.host_ready_s)
                        total.append(result.host_total_s)
            print(f"block {block + 1}/{args.n}: floor {np.median(floor):.3f} s, perflab ready "
                  f"{np.median(ready):.3f} s, whole boot {np.median(total):.3f} s (medians so far)",
                  flush=True)
    vs_ready = compare(floor, ready, seed=args.seed)
    vs_total = compare(floor, total, seed=args.seed)
    report = {
        "label": "emulated (TCG): not hardware performance",
        "kernel": prepared.kernel.release, "image": str(prepared.kernel.vmlinux),
        "n_blocks": args.n, "hung_or_failed": hung, "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "floor_s": {"median": float(np.median(floor)), "n": len(floor), "values": floor},
        "perflab_ready_s": {"median": float(np.median(ready)), "n": len(ready), "values": ready},
        "perflab_total_s": {"median": float(np.median(total)), "n": len(total), "values": total},
        "ready_vs_floor": {"ratio": vs_ready.ratio, "ci": list(vs_ready.ratio_ci),
                           "verdict": vs_ready.verdict},
        "total_vs_floor": {"ratio": vs_total.ratio, "ci": list(vs_total.ratio_ci),
                           "verdict": vs_total.verdict},
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(json.dumps({k: v for k, v in report.items() if not isinstance(v, dict) or "values" not in v},
                     indent=2))
    for key in ("floor_s", "perflab_ready_s", "perflab_total_s"):
        print(f"{key}: median {report[key]['median']:.3f} s (n={report[key]['n']})")
    print(f"boot-to-command / floor: {vs_ready.ratio:.2f}× [95% CI {vs_ready.ratio_ci[0]:.2f}, "
          f"{vs_ready.ratio_ci[1]:.2f}] (target ≤ 1.5×) — emulated (TCG)")
    print(f"whole boot / floor: {vs_total.ratio:.2f}× [95% CI {vs_total.ratio_ci[0]:.2f}, "
          f"{vs_total.ratio_ci[1]:.2f}] — emulated (TCG)")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
