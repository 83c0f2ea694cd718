"""Which Kconfig symbols build which module: read from a kernel tree's Makefiles and Kbuild files.

This is what ``make localmodconfig`` (scripts/kconfig/streamline_config.pl) does: a module ``foo``
is built by ``obj-$(CONFIG_X) += foo.o``; ``foo-y += bar.o`` / ``foo-objs := ...`` /
``foo-$(CONFIG_Y) += baz.o`` make ``foo`` a composite object (its parts are not modules; a part
behind ``CONFIG_Y`` is an optional feature of ``foo``); ``obj-$(CONFIG_Z) += dir/`` gates every
module of ``dir`` behind ``Z``. Module names compare with ``-`` and ``_`` as equal, like modprobe.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from perflab.kernel.modules import module_name

# make expands $(CONFIG_X) and ${CONFIG_X} alike; both occur (drivers/thunderbolt: obj-${CONFIG_USB4}),
# and streamline_config.pl accepts both.
_ASSIGN_RE = re.compile(r"\s*([A-Za-z0-9_.${}()/-]+)\s*(?:\+=|:=|\?=|=)(.*)")
_OBJ_CONFIG_RE = re.compile(r"obj-\$(?:\(CONFIG_([A-Za-z0-9_]+)\)|\{CONFIG_([A-Za-z0-9_]+)\})\Z")
_PART_CONFIG_RE = re.compile(r"(.+?)-\$(?:\(CONFIG_([A-Za-z0-9_]+)\)|\{CONFIG_([A-Za-z0-9_]+)\})\Z")
_PART_PLAIN_RE = re.compile(r"(.+?)-(y|objs|m)\Z")
_SKIP_DIRS = {".git", "Documentation", "tools", "samples", "usr", "LICENSES", "scripts"}


@dataclass
class ModuleInfo:
    """Where one module comes from: the symbols of its ``obj-`` lines, directory gates, features."""

    name: str
    symbols: set[str] = field(default_factory=set)
    always: bool = False  # obj-y / obj-m without a symbol
    gates: list[frozenset[str]] = field(default_factory=list)  # one OR-set per gated directory level
    features: set[str] = field(default_factory=set)
    makefiles: set[str] = field(default_factory=set)


@dataclass
class ModuleMap:
    """Module name → how the tree builds it."""

    modules: dict[str, ModuleInfo]
    makefiles_read: int

    def lookup(self, module: str) -> ModuleInfo | None:
        return self.modules.get(module_name(module))


def _logical_lines(text: str) -> list[str]:
    """Join backslash continuations and drop comments."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0] if "#" in raw else raw
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    if current:
        lines.append(current)
    return lines


def _read_makefile(path: Path, rel_dir: str, modules: dict[str, ModuleInfo],
                   dir_gates: dict[str, set[str]]) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    rel_file = f"{rel_dir}/{path.name}" if rel_dir else path.name
    parts: dict[str, set[str]] = defaultdict(set)  # composite object → feature symbols
    for line in _logical_lines(text):
        if "=" not in line or ("obj-" not in line and "-$(CONFIG_" not in line and "-${CONFIG_" not in line):
            continue
        match = _ASSIGN_RE.match(line)
        if match is None:
            continue
        target, value = match.groups()
        objects = [word for word in value.split() if "$" not in word]
        obj_match = _OBJ_CONFIG_RE.match(target)
        symbol: str | None
        if obj_match is not None:
            symbol = obj_match.group(1) or obj_match.group(2)
        elif target in ("obj-y", "obj-m"):
            symbol = None
        else:
            part = _PART_CONFIG_RE.match(target)
            if part is not None:
                parts[module_name(part.group(1))].add(part.group(2) or part.group(3))
            continue
        for word in objects:
            if word.endswith("/"):
                sub = os.path.normpath(os.path.join(rel_dir, word.rstrip("/")))
                if symbol is not None:
                    dir_gates[sub].add(symbol)
                continue
            if not word.endswith(".o"):
                continue
            name = module_name(word[:-2])
            info = modules.get(name)
            if info is None:
                info = modules[name] = ModuleInfo(name)
            if symbol is None:
                info.always = True
            else:
                info.symbols.add(symbol)
            info.makefiles.add(rel_file)
    for name, features in parts.items():
        if name in modules:
            modules[name].features |= features


def build_module_map(srctree: str | Path, srcarch: str = "x86") -> ModuleMap:
    """Scan every Makefile/Kbuild of the tree (skipping Documentation, tools, other arches)."""
    root = Path(srctree)
    modules: dict[str, ModuleInfo] = {}
    dir_gates: dict[str, set[str]] = defaultdict(set)
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        if not rel_dir:
            dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        elif rel_dir == "arch":
            dirnames[:] = [d for d in dirnames if d == srcarch]
        # Kbuild takes precedence over Makefile in the kernel's build; read both (Makefile often
        # only includes Kbuild or holds out-of-tree glue).
        for name in ("Kbuild", "Makefile"):
            if name in filenames:
                count += 1
                _read_makefile(Path(dirpath) / name, rel_dir, modules, dir_gates)
    for info in modules.values():
        levels: list[frozenset[str]] = []
        for makefile in sorted(info.makefiles):
            current = os.path.dirname(makefile)
            while current:
                gate = frozenset(dir_gates.get(current, ()))
                if gate and gate not in levels:
                    levels.append(gate)
                current = os.path.dirname(current)
        info.gates = levels
    return ModuleMap(modules, count)
