"""A small generated initramfs: static busybox, the modules the guest needs to reach the host's
filesystem (virtio transport, 9p, overlay) and an /init that builds the guest's root.

The guest root is the host's ``/`` shared read-only over 9p, under an overlay whose upper layer is a
tmpfs, so any host command (a Python one-liner, perflab itself) runs inside unchanged and nothing it
writes reaches the host. A second, private 9p share (``perflabout``) carries the job script in and the
results out. The archive depends only on the kernel's modules and the transport, so it is cached.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
from pathlib import Path

from perflab.errors import PerflabError
from perflab.fsutil import atomic_write
from perflab.vm.kernels import Kernel, cache_dir
from perflab.vm.modules import ModuleIndex, read_ko

HOST_TAG = "hostroot"
OUT_TAG = "perflabout"
GUEST_OUT = "/run/perflab/out"
GUEST_BIN = "/run/perflab/bin"
BUSYBOX_APPLETS = ("modprobe", "rmmod", "insmod", "lsmod", "modinfo")
INIT_VERSION = "2"

# /init: every step that can fail says so on the console (the host reads it) and powers off.
INIT_SCRIPT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc && /bin/busybox mount -t proc proc /proc && /bin/busybox --install -s /bin
fail() { echo "perflab-init: FAILED: $*" > /dev/console; sync; reboot -f; }
mkdir -p /sys /dev /mnt/host /mnt/rw /mnt/root /mnt/out
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for ko in $(cat /modules.list); do insmod "/modules/$ko" || fail "insmod $ko"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=524288 __HOST__ /mnt/host \
    || fail "mount the host filesystem (9p tag __HOST__)"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 __OUT__ /mnt/out \
    || fail "mount the results share (9p tag __OUT__)"
mount -t tmpfs -o mode=0755 rw /mnt/rw || fail "tmpfs"
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /mnt/root \
    || fail "overlay over the host filesystem"
# /tmp stays the host's (through the overlay: writable, private), so host paths under /tmp resolve.
for fs in proc:proc sysfs:sys devtmpfs:dev tmpfs:run; do
    mkdir -p "/mnt/root/${fs#*:}"
    mount -t "${fs%%:*}" "${fs%%:*}" "/mnt/root/${fs#*:}" || fail "mount ${fs#*:}"
done
mkdir -p /mnt/root/dev/pts /mnt/root/dev/shm __GUEST_OUT__ /mnt/root__GUEST_OUT__ /mnt/root__GUEST_BIN__
mount -t devpts devpts /mnt/root/dev/pts 2>/dev/null
mount -t tmpfs shm /mnt/root/dev/shm
mount --bind /mnt/out /mnt/root__GUEST_OUT__ || fail "bind the results share"
cp /bin/busybox /mnt/root__GUEST_BIN__/busybox
for applet in __APPLETS__; do ln -s busybox "/mnt/root__GUEST_BIN__/$applet"; done
[ -f /mnt/out/modules.path ] && mkdir -p "/mnt/root/lib/modules/$(uname -r)" && \
    mount --bind "/mnt/host$(cat /mnt/out/modules.path)" "/mnt/root/lib/modules/$(uname -r)"
exec switch_root /mnt/root __GUEST_BIN__/busybox sh __GUEST_OUT__/job.sh
"""


def base_modules(machine: str) -> list[str]:
    """What the guest must load before it can mount anything: transport, 9p, overlay."""
    transport = "virtio_mmio" if machine == "microvm" else "virtio_pci"
    return [transport, "9pnet_virtio", "9p", "overlay"]


def _cpio_entry(name: str, mode: int, data: bytes = b"", ino: int = 0) -> bytes:
    """One 'newc' cpio record (the format the kernel's initramfs unpacker reads)."""
    encoded = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    pad_name = (4 - (len(header) + len(encoded)) % 4) % 4
    pad_data = (4 - len(data) % 4) % 4
    return header + encoded + b"\0" * pad_name + data + b"\0" * pad_data


def build_archive(files: dict[str, tuple[int, bytes]], directories: list[str]) -> bytes:
    """A newc archive: directories first, then files ({name: (mode, data)}), then the trailer."""
    out = bytearray()
    ino = 1
    for directory in directories:
        out += _cpio_entry(directory, stat.S_IFDIR | 0o755, ino=ino)
        ino += 1
    for name, (mode, data) in files.items():
        out += _cpio_entry(name, mode, data, ino=ino)
        ino += 1
    out += _cpio_entry("TRAILER!!!", 0)
    return bytes(out)


def busybox_path() -> Path:
    found = shutil.which("busybox") or "/bin/busybox"
    path = Path(found)
    if not path.is_file():
        raise PerflabError("busybox is not installed (Debian: apt-get install busybox-static): the guest's "
                           "/init needs a static busybox")
    data = path.read_bytes()[:4096]
    if b"/lib64/ld-linux" in data or b"/lib/ld-linux" in data:
        raise PerflabError(f"{path} is dynamically linked: install busybox-static "
                           "(the initramfs has no libc)")
    return path


def init_script() -> str:
    return (INIT_SCRIPT.replace("__HOST__", HOST_TAG).replace("__OUT__", OUT_TAG)
            .replace("__GUEST_OUT__", GUEST_OUT).replace("__GUEST_BIN__", GUEST_BIN)
            .replace("__APPLETS__", " ".join(BUSYBOX_APPLETS)))


def initramfs_for(kernel: Kernel, machine: str) -> Path:
    """The cached initramfs for this kernel's modules tree and machine type (built on first use)."""
    if kernel.modules is None:
        raise PerflabError(f"{kernel.spec}: no modules tree for {kernel.release}: the guest needs the "
                           "kernel's 9p/virtio/overlay modules (give --modules-from PKG.deb|DIR)")
    index = ModuleIndex(kernel.modules)
    try:
        order = index.load_order(base_modules(machine))
    except PerflabError as error:
        raise PerflabError(f"{kernel.spec}: cannot share the host filesystem with this kernel: "
                           f"{error.message}") from error
    busybox = busybox_path()
    key = hashlib.sha256("\n".join([INIT_VERSION, init_script(), str(busybox.stat().st_mtime_ns),
                                    *map(str, order)]).encode()).hexdigest()[:16]
    target = cache_dir() / "initramfs" / f"{kernel.release}-{machine}-{key}.cpio"
    if target.is_file():
        return target
    files: dict[str, tuple[int, bytes]] = {
        "init": (stat.S_IFREG | 0o755, init_script().encode()),
        "bin/busybox": (stat.S_IFREG | 0o755, busybox.read_bytes()),
        "modules.list": (stat.S_IFREG | 0o644, "".join(f"{p.name.removesuffix('.xz')}\n"
                                                       for p in order).encode()),
    }
    for path in order:
        files[f"modules/{path.name.removesuffix('.xz')}"] = (stat.S_IFREG | 0o644, read_ko(path))
    archive = build_archive(files, ["bin", "modules"])
    atomic_write(target, archive, private_dir=True)
    return target
