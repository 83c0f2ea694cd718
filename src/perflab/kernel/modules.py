"""Module lists: modules.builtin, modules.builtin.modinfo, modules.order and /proc/modules.

They answer "is the code for this symbol actually there": a ``=m`` whose ``.ko`` is missing from
modules.order was never built, a loaded module shows up in /proc/modules. Module names are
normalised the way modprobe does (``aesni-intel.ko`` and ``aesni_intel`` are the same module).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from perflab.errors import PerflabError
from perflab.fsutil import read_bounded

PROC_MODULES = Path("/proc/modules")


def module_name(text: str) -> str:
    """``kernel/arch/x86/crypto/aesni-intel.ko`` → ``aesni_intel``."""
    base = text.strip().rsplit("/", 1)[-1]
    for suffix in (".ko.zst", ".ko.xz", ".ko.gz", ".ko"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


#: Largest module list read (Debian 6.12's modules.builtin.modinfo is ~0.5 MB).
MODULE_FILE_LIMIT = 64 * 1024 * 1024


def _read(path: Path) -> str:
    return read_bounded(path, limit=MODULE_FILE_LIMIT, what="module list").decode(
        "utf-8", errors="surrogateescape")


def parse_module_list(text: str, label: str) -> list[str]:
    """modules.order / modules.builtin: one ``.ko`` path per line."""
    names: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry:
            continue
        if not entry.endswith(".ko") or any(c.isspace() for c in entry):
            raise PerflabError(f"{label}:{number}: expected a path ending in .ko, got {entry!r}")
        names.append(module_name(entry))
    return names


def parse_modinfo(data: bytes, label: str) -> dict[str, dict[str, list[str]]]:
    """modules.builtin.modinfo: NUL-separated ``module.key=value`` → {module: {key: [values]}}."""
    info: dict[str, dict[str, list[str]]] = {}
    offset = 0
    for record in data.split(b"\0"):
        where = offset
        offset += len(record) + 1
        if not record:
            continue
        text = record.decode("utf-8", errors="replace")
        head, sep, value = text.partition("=")
        module, dot, key = head.partition(".")
        if not sep or not dot or not module or not key:
            raise PerflabError(f"{label}: byte {where}: expected 'module.key=value', got {text[:60]!r}")
        info.setdefault(module.replace("-", "_"), {}).setdefault(key, []).append(value)
    return info


@dataclass
class ModuleTree:
    """The module lists of one kernel build (``/lib/modules/<release>`` or a copied directory)."""

    directory: Path
    order: set[str] = field(default_factory=set)  # built as loadable modules
    builtin: set[str] = field(default_factory=set)  # linked into the image
    modinfo: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # which of the three files were absent

    @classmethod
    def load(cls, directory: str | Path) -> ModuleTree:
        directory = Path(directory)
        if not directory.is_dir():
            raise PerflabError(f"{directory}: not a directory (expected modules.order, modules.builtin)")
        tree = cls(directory)
        for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
            if not (directory / name).is_file():
                tree.missing.append(name)
        if len(tree.missing) == 3:
            raise PerflabError(f"{directory}: none of modules.order, modules.builtin, "
                               "modules.builtin.modinfo found")
        if "modules.order" not in tree.missing:
            path = directory / "modules.order"
            tree.order = set(parse_module_list(_read(path), str(path)))
        if "modules.builtin" not in tree.missing:
            path = directory / "modules.builtin"
            tree.builtin = set(parse_module_list(_read(path), str(path)))
        if "modules.builtin.modinfo" not in tree.missing:
            path = directory / "modules.builtin.modinfo"
            data = read_bounded(path, limit=MODULE_FILE_LIMIT, what="module list")
            tree.modinfo = parse_modinfo(data, str(path))
            tree.builtin |= set(tree.modinfo)
        return tree


@dataclass(frozen=True)
class LoadedModule:
    name: str
    size: int
    refcount: int
    used_by: tuple[str, ...]
    state: str


def parse_proc_modules(text: str, label: str = str(PROC_MODULES)) -> dict[str, LoadedModule]:
    """/proc/modules: ``name size refcount deps state address [taint]``."""
    loaded: dict[str, LoadedModule] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 5:
            raise PerflabError(f"{label}:{number}: expected at least 5 fields, got {line!r}")
        try:
            size, refcount = int(parts[1]), int(parts[2]) if parts[2] != "-" else 0
        except ValueError as error:
            raise PerflabError(f"{label}:{number}: size/refcount not integers in {line!r}") from error
        deps = tuple(d for d in parts[3].split(",") if d and d != "-")
        name = parts[0].replace("-", "_")
        loaded[name] = LoadedModule(name, size, refcount, deps, parts[4])
    return loaded


def read_proc_modules(path: Path = PROC_MODULES) -> dict[str, LoadedModule] | None:
    """Loaded modules, or None when the kernel has no module support (no /proc/modules)."""
    if not path.exists():
        return None
    return parse_proc_modules(_read(path), str(path))
