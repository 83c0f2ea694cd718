"""modprobed-db lists and ``make localmodconfig``-style pruning of a .config.

The rule (as scripts/kconfig/streamline_config.pl): every ``=m`` symbol is switched off unless it
builds a listed module, gates the directory of one, or is needed by a kept symbol (its ``depends
on``; for a prompt-less symbol also its defaults and one selector). Symbols the fragments ask to be
``y``/``m`` are roots too, so pruning never removes what a requested value depends on.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from perflab.errors import PerflabError
from perflab.fsutil import read_bounded
from perflab.kernel.config import KernelConfig
from perflab.kernel.kbuild import ModuleMap
from perflab.kernel.kconfig_explain import KernelKconfig, dependency_symbols, has_prompt, selector_terms
from perflab.kernel.modules import module_name

_MODULE_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
#: Largest module list read: a real one is a few KB (a few hundred modules).
MODULE_LIST_LIMIT = 4 * 1024 * 1024


def read_modprobed_db(path: str | Path) -> list[str]:
    """Module names, normalised (``-`` → ``_``), in file order without duplicates.

    A modprobed-db list (one module per line; blank lines and ``#`` comments, whole-line or trailing,
    are ignored), or what ``lsmod`` prints or ``/proc/modules`` holds: the ``Module Size Used by``
    header is skipped and the first word of each line is the module, as the kernel's ``LSMOD=`` takes
    it (scripts/kconfig/streamline_config.pl). A line with more words must carry a size as its second.
    """
    path = Path(path)
    text = read_bounded(path, limit=MODULE_LIST_LIMIT, what="module list").decode("utf-8", errors="replace")
    names: list[str] = []
    seen: set[str] = set()
    first = True
    for number, raw in enumerate(text.split("\n"), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if first and words[:2] == ["Module", "Size"]:  # lsmod's header
            first = False
            continue
        first = False
        if not _MODULE_RE.match(words[0]) or (len(words) > 1 and not words[1].isdigit()):
            shown = " ".join(words)
            raise PerflabError(f"{path}:{number}: not a module name (nor an lsmod line): {shown!r}")
        name = module_name(words[0])
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


@dataclass
class PruneReport:
    """What the modprobed-db pruning did, for the merge report."""

    modules: int = 0
    kept_modules: dict[str, list[str]] = field(default_factory=dict)  # module → its =m symbols
    builtin_modules: dict[str, list[str]] = field(default_factory=dict)  # module → its =y symbols
    not_enabled: dict[str, list[str]] = field(default_factory=dict)  # module → symbols off in BASE
    unmapped: list[str] = field(default_factory=list)  # no obj- line in the tree builds it
    kept_for: dict[str, str] = field(default_factory=dict)  # symbol → why it stays =m
    forced_for_fragment: dict[str, str] = field(default_factory=dict)  # =m kept only for a fragment
    pruned: list[str] = field(default_factory=list)  # =m → n
    restored: dict[str, str] = field(default_factory=dict)  # pruned, turned back to m by conf → why
    makefiles_read: int = 0


def prune(config: KernelConfig, modules: list[str], module_map: ModuleMap, kconf: KernelKconfig,
          fragment_roots: dict[str, str]) -> PruneReport:
    """Switch off, in place, every ``=m`` symbol the listed modules and the fragment do not need.

    ``fragment_roots`` maps a requested symbol to where it was requested (file:line).
    """
    report = PruneReport(modules=len(modules), makefiles_read=module_map.makefiles_read)
    values = config.as_dict()
    m_syms = {name for name, value in values.items() if value == "m"}
    keep: dict[str, str] = {}
    visited: set[str] = set()
    queue: deque[str] = deque()

    def hold(symbol: str, why: str) -> None:
        """Keep ``symbol`` if it is =m and walk its dependencies whatever its value (a =y bool can
        depend on a =m tristate)."""
        if symbol in m_syms and symbol not in keep:
            keep[symbol] = why
        if symbol not in visited:
            visited.add(symbol)
            queue.append(symbol)

    for module in modules:
        info = module_map.lookup(module)
        if info is None or (not info.symbols and not info.always):
            report.unmapped.append(module)
            continue
        mods = sorted(info.symbols & m_syms)
        ys = sorted(s for s in info.symbols if values.get(s) == "y")
        if mods:
            report.kept_modules[module] = mods
            for symbol in mods:
                hold(symbol, f"builds module {module}")
        elif ys or info.always:
            report.builtin_modules[module] = ys
        else:
            report.not_enabled[module] = sorted(info.symbols)
        for level in info.gates:
            if not any(values.get(s) == "y" or s in keep for s in level):
                for symbol in sorted(level & m_syms):
                    hold(symbol, f"gates the directory of module {module}")
    module_kept = set(keep)
    from_fragment: set[str] = set(fragment_roots)
    for symbol, where in fragment_roots.items():
        hold(symbol, f"requested at {where}")

    while queue:
        name = queue.popleft()
        sym = kconf.syms.get(name)
        if sym is None or not sym.nodes or values.get(name) in (None, "n"):
            continue
        why = f"needed by {name}"
        for dep in sorted(dependency_symbols(sym)):
            if name in from_fragment and dep not in visited:
                from_fragment.add(dep)
            hold(dep, why)
        if not has_prompt(sym):
            # Only a select can keep a prompt-less symbol on: keep one select that BASE makes active
            # (selector and its `if` condition), preferring one already walked, as streamline_config.pl.
            terms = [(sel, needed) for sel, needed in selector_terms(sym)
                     if all(values.get(n) in ("y", "m") for n in needed)]
            if terms:
                sel, needed = next(((s, n) for s, n in terms if s in visited), terms[0])
                for other in sorted(needed):
                    if name in from_fragment and other not in visited:
                        from_fragment.add(other)
                    hold(other, f"selects {name}" if other == sel else f"condition of {sel} selecting {name}")
    for symbol in sorted(from_fragment & set(keep) - module_kept):
        if symbol not in fragment_roots:
            report.forced_for_fragment[symbol] = keep[symbol]
    report.kept_for = dict(sorted(keep.items()))
    for entry in config:
        if entry.value == "m" and entry.name not in keep:
            config.set(entry.name, "n")
            report.pruned.append(entry.name)
    return report
