"""The guest's loadable modules, from the kernel package's own tree: which ``.ko`` files a module needs,
in load order, read from each file's ``.modinfo`` section (a distro package ships no modules.dep)."""

from __future__ import annotations

import lzma
import shutil
import struct
import subprocess
from pathlib import Path

from perflab.errors import PerflabError
from perflab.kernel.modules import module_name, parse_module_list

MODULE_SUFFIXES = (".ko", ".ko.xz")


def elf_section(data: bytes, wanted: str) -> bytes | None:
    """The bytes of one section of an ELF64 little-endian object, or None."""
    if not data.startswith(b"\x7fELF") or data[4] != 2:
        return None
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(i: int) -> tuple[int, int, int]:
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        return name, offset, size

    _, str_off, _ = header(shstrndx)
    for i in range(shnum):
        name, offset, size = header(i)
        end = data.index(b"\0", str_off + name)
        if data[str_off + name:end].decode(errors="replace") == wanted:
            return data[offset:offset + size]
    return None


def read_ko(path: Path) -> bytes:
    data = path.read_bytes()
    return lzma.decompress(data) if path.name.endswith(".xz") else data


def module_depends(path: Path) -> list[str]:
    """``depends=`` of a .ko's .modinfo (comma list of module names)."""
    section = elf_section(read_ko(path), ".modinfo") or b""
    for record in section.split(b"\0"):
        if record.startswith(b"depends="):
            return [module_name(n) for n in record[8:].decode().split(",") if n]
    return []


class ModuleIndex:
    """Module name → .ko path for one kernel's ``lib/modules/<release>``, plus what is built in."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.paths: dict[str, Path] = {}
        for suffix in MODULE_SUFFIXES:
            for path in (directory / "kernel").rglob(f"*{suffix}"):
                self.paths.setdefault(module_name(path.name), path)
        builtin = directory / "modules.builtin"
        self.builtin = (set(parse_module_list(builtin.read_text(), str(builtin)))
                        if builtin.is_file() else set())

    def load_order(self, names: list[str]) -> list[Path]:
        """The .ko files to insmod, dependencies first; built-in modules need none."""
        order: list[Path] = []
        seen: set[str] = set()

        def visit(name: str, wanted_by: str | None) -> None:
            name = module_name(name)
            if name in seen or name in self.builtin:
                return
            seen.add(name)
            path = self.paths.get(name)
            if path is None:
                why = f" (needed by {wanted_by})" if wanted_by else ""
                raise PerflabError(f"{self.directory}: the kernel has no module {name}{why}: neither "
                                   "built in nor a .ko in this modules tree")
            for dependency in module_depends(path):
                visit(dependency, name)
            order.append(path)

        for name in names:
            visit(name, None)
        return order


def ensure_modules_dep(directory: Path, release: str) -> str | None:
    """Run ``depmod`` on the private tree once so ``modprobe`` works in the guest; None or why not."""
    if (directory / "modules.dep").is_file():
        return None
    depmod = shutil.which("depmod") or next((p for p in ("/sbin/depmod", "/usr/sbin/depmod")
                                             if Path(p).is_file()), None)
    command = [depmod] if depmod else [shutil.which("busybox") or "busybox", "depmod"]
    if depmod is None and shutil.which("busybox") is None:
        return "neither depmod (kmod) nor busybox is installed: modprobe inside the guest finds no modules"
    if directory.parts[-3:-1] != ("lib", "modules"):
        return f"{directory}: not a lib/modules/<release> tree: depmod skipped"
    base = Path(*directory.parts[:-3])
    done = subprocess.run([*command, "-b", str(base), release], capture_output=True, text=True)
    if done.returncode != 0:
        return f"depmod failed: {done.stderr.strip()[:200]}"
    return None
