"""Which kernel to boot: a vmlinux, a bzImage, a distro ``.deb`` (unpacked privately, never installed)
or a release installed under /boot — resolved to one image, its modules tree and its release string.

The fastest boot here is QEMU ``microvm`` loading an ELF vmlinux through its PVH entry note (about
1.7 s to init under TCG, against 4.2 s for a bzImage through qboot), so a bzImage's compressed payload
is decompressed once into a cached vmlinux whenever the payload format is one the standard library
reads (gzip, xz, lzma, bzip2). Other formats (lz4, zstd) boot the bzImage itself and say why.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from perflab.errors import PerflabError
from perflab.fsutil import atomic_write, ensure_private_dir

ELF_MAGIC = b"\x7fELF"
PVH_NOTE_TYPE = 18  # XEN_ELFNOTE_PHYS32_ENTRY: the note QEMU needs to boot a vmlinux directly
_PAYLOAD_MAGICS = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"\x5d\x00\x00": "lzma",
    b"BZh": "bzip2",
    b"\x02\x21\x4c\x18": "lz4",
    b"\x28\xb5\x2f\xfd": "zstd",
}


@dataclass(frozen=True)
class Kernel:
    """A bootable kernel: ``vmlinux`` (PVH) when there is one, else ``bzimage``; ``modules`` may be None."""

    spec: str  # what the user gave
    release: str  # e.g. 6.1.0-57-amd64
    bzimage: Path | None
    vmlinux: Path | None
    modules: Path | None  # lib/modules/<release>
    config: Path | None
    pvh_note: str  # why the vmlinux is (not) used

    @property
    def label(self) -> str:
        return self.release


def cache_dir() -> Path:
    """Private cache for unpacked packages and extracted vmlinux files (0700)."""
    base = Path(os.environ.get("PERFLAB_VM_CACHE") or
                Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "perflab" / "vm")
    return ensure_private_dir(base)


def _digest(path: Path) -> str:
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def unpack_deb(deb: Path) -> Path:
    """``dpkg -x`` the package into the private cache once (atomic rename), return its root."""
    target = cache_dir() / "debs" / f"{deb.name.removesuffix('.deb')}-{_digest(deb)}"
    if target.is_dir():
        return target
    if shutil.which("dpkg") is None:
        raise PerflabError(f"{deb}: cannot unpack a .deb: dpkg is not installed")
    ensure_private_dir(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        done = subprocess.run(["dpkg", "-x", str(deb), str(tmp)], capture_output=True, text=True)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise PerflabError(f"{deb}: dpkg -x failed: {reason}")
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _bzimage_payload(data: bytes, path: Path) -> tuple[str, bytes]:
    """The compressed vmlinux inside a bzImage (boot protocol ≥ 2.08 payload_offset/length)."""
    if len(data) < 0x250 or data[0x202:0x206] != b"HdrS":
        raise PerflabError(f"{path}: not a bzImage (no 'HdrS' boot header) and not an ELF vmlinux")
    version = struct.unpack_from("<H", data, 0x206)[0]
    if version < 0x208:
        return "unknown", b""
    setup_sects = data[0x1F1] or 4
    offset, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + offset
    payload = data[start:start + length]
    for magic, name in _PAYLOAD_MAGICS.items():
        if payload.startswith(magic):
            return name, payload
    return "unknown", payload


def _decompress(kind: str, payload: bytes) -> bytes | None:
    if kind == "gzip":
        return gzip.decompress(payload)
    if kind in ("xz", "lzma"):  # the kernel appends a 4-byte size: decompress the first stream only
        return lzma.LZMADecompressor().decompress(payload)
    if kind == "bzip2":
        return bz2.BZ2Decompressor().decompress(payload)
    return None


def has_pvh_note(elf: bytes) -> bool:
    """Whether an ELF64 vmlinux carries XEN_ELFNOTE_PHYS32_ENTRY (CONFIG_PVH=y)."""
    if not elf.startswith(ELF_MAGIC) or elf[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        ptype, _flags, offset, _va, _pa, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if ptype != 4:  # PT_NOTE
            continue
        pos, end = offset, offset + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == PVH_NOTE_TYPE:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def extract_vmlinux(bzimage: Path) -> tuple[Path | None, str]:
    """A cached PVH-bootable vmlinux from a bzImage, or None and the reason it cannot be had."""
    target = cache_dir() / "vmlinux" / f"{bzimage.name}-{_digest(bzimage)}"
    if target.is_file():
        return target, "vmlinux extracted from the bzImage (PVH entry)"
    data = bzimage.read_bytes()
    if data.startswith(ELF_MAGIC):
        return (bzimage, "ELF vmlinux with a PVH entry") if has_pvh_note(data) else \
            (None, "ELF without a PVH entry note (CONFIG_PVH unset)")
    kind, payload = _bzimage_payload(data, bzimage)
    try:
        elf = _decompress(kind, payload)
    except (OSError, lzma.LZMAError, EOFError, ValueError) as error:
        return None, f"bzImage payload ({kind}) did not decompress: {error}"
    if elf is None:
        return None, f"bzImage payload is {kind}, which perflab does not decompress: booting the bzImage"
    if not has_pvh_note(elf):
        return None, "kernel has no PVH entry note (CONFIG_PVH unset): booting the bzImage"
    atomic_write(target, elf, private_dir=True)
    return target, "vmlinux extracted from the bzImage (PVH entry)"


def _release_from_tree(root: Path, spec: str) -> str:
    releases = sorted(p.name for p in (root / "lib" / "modules").glob("*") if p.is_dir()) \
        if (root / "lib" / "modules").is_dir() else []
    if not releases:
        images = sorted((root / "boot").glob("vmlinuz-*"))
        if not images:
            raise PerflabError(f"{spec}: the package holds no /boot/vmlinuz-* kernel image")
        return images[0].name.removeprefix("vmlinuz-")
    if len(releases) > 1:
        raise PerflabError(f"{spec}: the package holds several kernels ({', '.join(releases)})")
    return releases[0]


def _from_tree(root: Path, spec: str, release: str) -> Kernel:
    image = root / "boot" / f"vmlinuz-{release}"
    if not image.is_file():
        raise PerflabError(f"{spec}: no kernel image {image}")
    modules = root / "lib" / "modules" / release
    config = root / "boot" / f"config-{release}"
    vmlinux, note = extract_vmlinux(image)
    return Kernel(spec, release, image, vmlinux, modules if modules.is_dir() else None,
                  config if config.is_file() else None, note)


def resolve(spec: str, modules_from: str | None = None) -> Kernel:
    """Turn ``--kernel`` (path to vmlinux/bzImage/.deb, or a /boot release) into a bootable Kernel."""
    path = Path(spec)
    if spec.endswith(".deb"):
        if not path.is_file():
            raise PerflabError(f"{spec}: no such kernel package")
        root = unpack_deb(path)
        kernel = _from_tree(root, spec, _release_from_tree(root, spec))
    elif path.is_file():
        kernel = _from_file(path, spec)
    elif (Path("/boot") / f"vmlinuz-{spec}").is_file():
        kernel = _from_tree(Path("/"), spec, spec)
    else:
        raise PerflabError(f"{spec}: not a kernel file, a .deb, or a release with /boot/vmlinuz-{spec}")
    if modules_from:
        kernel = _with_modules(kernel, modules_from)
    return kernel


def _from_file(path: Path, spec: str) -> Kernel:
    try:
        head = path.read_bytes()[:0x300]
    except OSError as error:
        raise PerflabError(f"{spec}: cannot read: {error.strerror}") from error
    is_elf = head.startswith(ELF_MAGIC)
    if not is_elf and head[0x202:0x206] != b"HdrS":
        raise PerflabError(f"{spec}: neither an ELF vmlinux nor a bzImage")
    vmlinux, note = extract_vmlinux(path)
    if is_elf and vmlinux is None:
        raise PerflabError(f"{spec}: {note}; QEMU cannot boot it directly (give the bzImage)")
    release = _release_string(path.read_bytes() if is_elf else head, path) or path.name
    return Kernel(spec, release, None if is_elf else path, vmlinux, None, None, note)


def _release_string(data: bytes, path: Path) -> str | None:
    """bzImage: the kernel_version pointer at 0x20e; ELF: the 'Linux version X' banner."""
    if data.startswith(ELF_MAGIC):
        at = data.find(b"Linux version ")
        return data[at + 14:data.index(b" ", at + 14)].decode(errors="replace") if at >= 0 else None
    pointer = struct.unpack_from("<H", data, 0x20E)[0]
    if not pointer:
        return None
    with open(path, "rb") as f:
        f.seek(pointer + 0x200)
        raw = f.read(128)
    return raw.split(b" ", 1)[0].split(b"\0", 1)[0].decode(errors="replace") or None


def _with_modules(kernel: Kernel, modules_from: str) -> Kernel:
    """``--modules-from``: a .deb (its lib/modules/<release>) or a directory (lib/modules/<release>)."""
    if modules_from.endswith(".deb"):
        root = unpack_deb(Path(modules_from))
        candidates = [root / "lib" / "modules" / kernel.release]
    else:
        root = Path(modules_from)
        candidates = [root, root / kernel.release, root / "lib" / "modules" / kernel.release]
    for candidate in candidates:
        if (candidate / "kernel").is_dir():
            return Kernel(kernel.spec, kernel.release, kernel.bzimage, kernel.vmlinux, candidate,
                          kernel.config, kernel.pvh_note)
    raise PerflabError(f"{modules_from}: no modules tree for release {kernel.release} "
                       f"(looked for {', '.join(str(c / 'kernel') for c in candidates)})")
