"""``perflab kernel merge``: BASE + fragments (+ modprobed-db pruning), resolved by the kernel's Kconfig.

Order of operations (documented in the CLI help too):

1. read BASE and every fragment (a malformed line stops everything, nothing is written);
2. collect the requests: fragments in command-line order, a later assignment wins; each
   redefinition (a value that changes an earlier one) is recorded with old → new and file:line;
3. ``--modprobed-db``: prune BASE like ``make localmodconfig``, with the fragments' ``y``/``m``
   symbols as extra roots so what they depend on is kept (reported as "kept for the fragment");
4. apply the requests on top of the pruned BASE (so a fragment's ``=y`` is never pruned);
5. ``--srctree``: resolve with the tree's own ``make olddefconfig`` and compare every requested
   value with the result (honoured / changed + reason / absent); without it, the textual merge is
   the result and it is labelled unresolved.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from perflab.errors import PerflabError
from perflab.kernel.config import KernelConfig

UNRESOLVED_HEADER = ("# perflab kernel merge: UNRESOLVED textual merge (no --srctree): dependencies "
                     "not checked;\n# run 'make olddefconfig' in the kernel tree before building.\n")
_TRI = {"n": 0, "m": 1, "y": 2}
STATUSES = ("honoured", "changed", "absent", "unresolved", "not in BASE")
NOT_IN_BASE = "not in BASE: may not exist in this kernel version"


@dataclass
class Redefinition:
    symbol: str
    old: str
    new: str
    old_source: str  # "BASE" or file:line
    source: str  # file:line of the new value


@dataclass
class Request:
    symbol: str
    value: str
    kind: str
    source: str


@dataclass
class Row:
    """One line of the requested-vs-actual table."""

    symbol: str
    requested: str
    actual: str | None  # None: absent from this tree
    status: str  # honoured | changed | absent | unresolved | not in BASE
    reason: str
    source: str
    held_by: list[str] = field(default_factory=list)  # NAME=value of the dependencies capping a y/m
    fix: list[str] = field(default_factory=list)  # fragment lines that lift it (the whole chain)
    fix_checked: bool = False  # kconfiglib gives the requested value with ``fix`` added


@dataclass
class SideEffect:
    """A symbol nobody asked for whose value the resolution changed."""

    symbol: str
    before: str | None  # None: not in the merged input
    after: str | None  # None: not written by conf (invisible)
    reason: str
    promotion: bool  # m → y
    from_pruning: bool = False  # switched off because a symbol it depends on was pruned
    toolchain: str = ""  # why this machine's tools decide it ('' when they do not)


@dataclass
class MergeResult:
    text: str
    resolved: bool
    base: str
    fragments: list[str]
    redefinitions: list[Redefinition]
    requests: list[Request]
    rows: list[Row]
    side_effects: list[SideEffect] = field(default_factory=list)
    prune: object | None = None  # PruneReport
    command: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def not_honoured(self) -> list[Row]:
        return [row for row in self.rows if row.status in ("changed", "absent")]

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("text")
        data["status_counts"] = {s: sum(1 for r in self.rows if r.status == s)
                                 for s in STATUSES}
        return data


def _collect_requests(base: KernelConfig, fragments: list[KernelConfig]) -> tuple[dict[str, Request],
                                                                                   list[Redefinition]]:
    requests: dict[str, Request] = {}
    redefinitions: list[Redefinition] = []
    for fragment in fragments:
        label = str(fragment.path)
        # Every assignment in line order, including those a later line of the same fragment overrode.
        kinds = {entry.name: entry.kind for entry in fragment}
        assignments = {(entry.line, entry.name, entry.value) for entry in fragment}
        assignments |= {(o.first_line, o.name, o.old) for o in fragment.overrides}
        for line, name, value in sorted(assignments):
            source = f"{label}:{line}"
            previous = requests.get(name)
            if previous is not None:
                old, old_source = previous.value, previous.source
            else:
                old, old_source = base.get(name), "BASE"
            if old is not None and old != value:
                redefinitions.append(Redefinition(name, old, value, old_source, source))
            requests[name] = Request(name, value, kinds[name], source)
    order = {str(fragment.path): index for index, fragment in enumerate(fragments)}

    def position(redef: Redefinition) -> tuple[int, int]:
        label, _, line = redef.source.rpartition(":")
        return order.get(label, 0), int(line) if line.isdigit() else 0

    redefinitions.sort(key=position)
    return requests, redefinitions


def _history(symbol: str, values: dict[str, str]) -> str:
    """What the hot-path groups know about a symbol missing from a config (moved, renamed, new)."""
    from perflab.kernel.hotpath import Lineage, load_groups

    return Lineage.of(load_groups()).relation(symbol, values)[1]


def _textual_rows(requests: dict[str, Request], base_values: dict[str, str]) -> list[Row]:
    """Without a tree nothing is checked, but a symbol BASE does not mention at all is worth a word:
    it may not exist in this kernel version (and the groups may know what replaced it)."""
    rows = []
    for r in requests.values():
        if r.symbol in base_values:
            rows.append(Row(r.symbol, r.value, r.value, "unresolved", "no --srctree: not checked", r.source))
            continue
        history = _history(r.symbol, base_values)
        reason = f"{NOT_IN_BASE}; {history}" if history else NOT_IN_BASE
        rows.append(Row(r.symbol, r.value, r.value, "not in BASE", reason, r.source))
    return rows


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _check_versions(base: KernelConfig, root: Path, allow: bool, notes: list[str]) -> None:
    """BASE (its ``# Linux/x86 6.12.117 Kernel Configuration`` header) and the tree (its Makefile)
    must be the same VERSION.PATCHLEVEL: Kconfig symbols appear, vanish and change between releases,
    so resolving against another version silently drops or changes values."""
    from perflab.kernel.kconfig_explain import kernel_version

    header = base.header()
    tree_version = kernel_version(root)
    if header is None:
        notes.append(f"BASE has no '# Linux/<arch> <version> Kernel Configuration' header: its version "
                     f"was not checked against the tree's {tree_version}")
        return
    base_version = header[1]
    if _major_minor(base_version) == _major_minor(tree_version):
        if base_version.split("-")[0] != tree_version.split("-")[0]:
            notes.append(f"BASE is Linux {base_version}, the tree {tree_version} (same series)")
        return
    message = (f"{base.path}: BASE is a Linux {base_version} config but {root} is Linux {tree_version}: "
               "symbols differ between versions")
    if not allow:
        raise PerflabError(f"{message}; use the matching tree or pass --allow-version-mismatch")
    notes.append(f"VERSION MISMATCH (allowed): {message}")


def _defined_by_scan(srctree: Path) -> set[str]:
    """Every ``config``/``menuconfig`` name in the tree's Kconfig files (fallback without kconfiglib)."""
    names: set[str] = set()
    pattern = re.compile(r"^\s*(?:menu)?config\s+([A-Za-z0-9_]+)", re.MULTILINE)
    for dirpath, _dirs, files in os.walk(srctree):
        for name in files:
            if name.startswith("Kconfig"):
                try:
                    text = Path(dirpath, name).read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                names.update(pattern.findall(text))
    return names


def merge(base_path: str | Path, fragment_paths: list[str | Path], *, modprobed_db: str | Path | None = None,
          srctree: str | Path | None = None, arch: str | None = None, allow_version_mismatch: bool = False,
          trust_tree: bool = False) -> MergeResult:
    """Merge and (with ``srctree``) resolve; never writes anything but temporary files.

    ``srctree`` must be owned by this user or root (it is code that runs) unless ``trust_tree``, and
    of BASE's kernel version (from BASE's header) unless ``allow_version_mismatch``."""
    import time

    clock = time.perf_counter()
    base = KernelConfig.load(base_path)
    fragments = [KernelConfig.load(path) for path in fragment_paths]
    requests, redefinitions = _collect_requests(base, fragments)
    result = MergeResult("", False, str(base_path), [str(p) for p in fragment_paths], redefinitions,
                         list(requests.values()), [])
    merged = base  # BASE's object, not its file: the requests above were read before any change
    base_values = base.as_dict()  # before pruning: side effects are shown against BASE
    kconf = None
    root = None
    if srctree is not None:
        from perflab.kernel.resolve import check_srctree, check_tree_owner

        root = check_srctree(srctree)
        if not trust_tree:
            check_tree_owner(root)
        _check_versions(base, root, allow_version_mismatch, result.notes)
    if modprobed_db is not None:
        if root is None:
            raise PerflabError("--modprobed-db needs --srctree: the module → symbol map comes from the "
                               "tree's Makefiles and the dependencies from its Kconfig")
        from perflab.kernel.kbuild import build_module_map
        from perflab.kernel.kconfig_explain import load_kconfig, srcarch, subarch
        from perflab.kernel.modprobed import prune, read_modprobed_db

        modules = read_modprobed_db(modprobed_db)
        from perflab.fsutil import state_dir

        kconf = load_kconfig(root, arch, cache_dir=state_dir() / "kconfig-cache")
        module_map = build_module_map(root, srcarch(arch or os.environ.get("ARCH") or subarch()))
        roots = {r.symbol: r.source for r in requests.values() if r.value in ("y", "m")}
        result.prune = prune(merged, modules, module_map, kconf, roots)
    for request in requests.values():
        merged.set(request.symbol, request.value, kind=request.kind)
    result.seconds["merge"] = time.perf_counter() - clock
    if root is None:
        result.text = UNRESOLVED_HEADER + merged.dumps()
        result.rows = _textual_rows(requests, base_values)
        result.notes.append("UNRESOLVED: textual merge only; dependencies were not checked (use --srctree)")
        return result
    _resolve(result, root, merged, requests, kconf, arch, base_values)
    result.seconds["total"] = time.perf_counter() - clock
    return result


def _resolve(result: MergeResult, root: Path, merged: KernelConfig, requests: dict[str, Request],
             kconf: object | None, arch: str | None, base_values: dict[str, str]) -> None:
    import time

    from perflab.fsutil import state_dir
    from perflab.kernel.kconfig_explain import load_kconfig
    from perflab.kernel.resolve import Olddefconfig

    merged_text = merged.dumps()
    kconf_error = None
    with Olddefconfig(root, merged_text, arch) as run:
        run.start()
        if kconf is None:  # parse Kconfig in Python while make/conf runs in its own processes
            clock = time.perf_counter()
            try:
                kconf = load_kconfig(root, arch, cache_dir=state_dir() / "kconfig-cache")
            except PerflabError as error:
                kconf_error = error.message
            result.seconds["kconfiglib_parse"] = time.perf_counter() - clock
        resolved = run.result()
    result.seconds["olddefconfig"] = resolved.seconds
    result.command = resolved.command
    result.text = resolved.text
    result.resolved = True
    out = KernelConfig.loads(resolved.text, "<olddefconfig output>")
    with tempfile.TemporaryDirectory(prefix="perflab-kconfig-") as tmp:
        # Written once: kconfiglib loads it now and again after each fix check (which changes values).
        resolved_path = Path(tmp) / ".config"
        resolved_path.write_text(resolved.text, encoding="utf-8", errors="surrogateescape")
        if kconf is not None:
            kconf.load_values(resolved_path)  # type: ignore[attr-defined]
            defined = {name for name, sym in kconf.syms.items() if sym.nodes}  # type: ignore[attr-defined]
        else:
            result.notes.append(f"no explanations: {kconf_error}")
            defined = _defined_by_scan(root)
        _compare_requests(result, requests, out, defined, kconf, resolved_path)
    result.side_effects = _side_effects(result, merged.as_dict(), out.as_dict(), base_values, requests,
                                        kconf, defined)
    if kconf is not None:
        _mark_toolchain(result, kconf, root)


def _side_effects(result: MergeResult, before: dict[str, str], after: dict[str, str], base: dict[str, str],
                  requests: dict[str, Request], kconf: object | None, defined: set[str]) -> list[SideEffect]:
    """Unrequested symbols conf changed, shown against BASE's value (not the pruned intermediate one);
    a pruned =m that conf turned back to BASE's value is no side effect: the prune report lists it."""
    from perflab.kernel.kconfig_explain import explain

    pruned = set(result.prune.pruned) if result.prune is not None else set()  # type: ignore[attr-defined]
    effects: list[SideEffect] = []
    for name in sorted(set(before) | set(after)):
        if name in requests:
            continue
        old, new = before.get(name), after.get(name)
        if old == new or (old in (None, "n") and new in (None, "n")):
            continue
        reason = ""
        tristate = (old or "n") in _TRI and (new or "n") in _TRI
        if kconf is not None and name in defined:
            reason = explain(kconf, name, old or "n" if tristate else old or "", new or "n" if tristate else
                             new or "")
        elif old is None:
            reason = "new symbol: default applies"
        shown = base.get(name) if name in pruned else old
        if name in pruned and shown == new:
            result.prune.restored[name] = reason  # type: ignore[attr-defined]
            continue
        effects.append(SideEffect(name, shown, new, reason, shown == "m" and new == "y"))
    if pruned and kconf is not None:
        _mark_pruning_consequences(effects, pruned, kconf)
    return effects


def _compare_requests(result: MergeResult, requests: dict[str, Request], out: KernelConfig, defined: set[str],
                      kconf: object | None, resolved_path: Path) -> None:
    """One requested-vs-actual row per request, explained (and a fix proposed) when kconfiglib is there."""
    from perflab.kernel.kconfig_explain import explain

    out_values = out.as_dict()
    for request in requests.values():
        actual = out.get(request.symbol)
        if request.symbol not in defined:
            history = _history(request.symbol, out_values)
            reason = "not defined in this tree's Kconfig" + (f"; {history}" if history else "")
            result.rows.append(Row(request.symbol, request.value, None, "absent", reason, request.source))
            continue
        shown = actual if actual is not None else ("n" if request.value in _TRI else "")
        if shown == request.value:
            result.rows.append(Row(request.symbol, request.value, shown, "honoured", "", request.source))
            continue
        reason = explain(kconf, request.symbol, request.value, shown) if kconf is not None else ""
        if actual is None:
            reason = ("not written by conf (invisible); " + reason).rstrip("; ")
        row = Row(request.symbol, request.value, shown, "changed", reason or "unexplained", request.source)
        lowered = request.value in _TRI and shown in _TRI and _TRI[shown] < _TRI[request.value]
        if kconf is not None and lowered:
            _add_fix(row, kconf, resolved_path)
        result.rows.append(row)


def _add_fix(row: Row, kconf: object, resolved_path: Path) -> None:
    """Name the dependencies that held a requested y (or m) down and the fragment lines that lift them,
    checked with kconfiglib on the resolved values (which are reloaded afterwards)."""
    from perflab.kernel.kconfig_explain import fix_works, fragment_fix

    held_by, lines, blockers = fragment_fix(kconf, row.symbol, row.requested)  # type: ignore[arg-type]
    row.held_by, row.fix = held_by, lines
    parts = []
    if held_by:
        parts.append(f"held at {row.actual} by {', '.join(held_by)}")
    if blockers:
        parts.append("no fragment line can lift: " + "; ".join(dict.fromkeys(blockers)))
    elif lines:
        try:
            row.fix_checked = fix_works(kconf, row.symbol, row.requested, lines)  # type: ignore[arg-type]
        finally:
            kconf.load_values(resolved_path)  # type: ignore[attr-defined]
        checked = ("checked with kconfiglib" if row.fix_checked
                   else "not confirmed: kconfiglib still does not give it with these lines")
        parts.append(f"to get {row.requested}, add to the fragment: {' '.join(lines)} ({checked})")
    if parts:
        row.reason = "; ".join([row.reason, *parts]) if row.reason != "unexplained" else "; ".join(parts)


def _mark_toolchain(result: MergeResult, kconf: object, root: Path) -> None:
    """Flag the values this machine's tools decided (a missing pahole drops DEBUG_INFO_BTF, another gcc
    changes CC_VERSION_TEXT and the CC_HAS_* probes), and what hangs on them, apart from the rest."""
    from perflab.kernel.kconfig_explain import needs_of, toolchain_derived

    effects = {e.symbol: e for e in result.side_effects}
    direct = toolchain_derived(kconf, root, set(effects))  # type: ignore[arg-type]
    for name, macro in direct.items():
        effects[name].toolchain = f"probed on this machine by $({macro}...)"
    flagged = set(direct)
    changed = True
    while changed:
        changed = False
        for effect in result.side_effects:
            sym = kconf.syms.get(effect.symbol)  # type: ignore[attr-defined]
            if effect.symbol in flagged or sym is None:
                continue
            hits = sorted(needs_of(sym) & flagged)
            if hits:
                effect.toolchain = "hangs on " + ", ".join(f"CONFIG_{h}" for h in hits[:3])
                flagged.add(effect.symbol)
                changed = True
    for row in result.rows:
        sym = kconf.syms.get(row.symbol)  # type: ignore[attr-defined]
        hits = sorted(needs_of(sym) & flagged) if row.status == "changed" and sym is not None else []
        if hits:
            row.reason += ("; toolchain-dependent: hangs on " + ", ".join(f"CONFIG_{h}" for h in hits[:3])
                           + ", which this machine's tools decide")


def _mark_pruning_consequences(effects: list[SideEffect], pruned: set[str], kconf: object) -> None:
    """Flag the symbols switched off only because something they depend on was pruned."""
    import kconfiglib

    off = set(pruned)
    candidates = [e for e in effects if e.after in (None, "n") and e.before not in (None, "n")]
    changed = True
    while changed:
        changed = False
        for effect in candidates:
            if effect.from_pruning:
                continue
            sym = kconf.syms.get(effect.symbol)  # type: ignore[attr-defined]
            if sym is None:
                continue
            exprs = [sym.direct_dep]
            if sym.choice is not None:
                exprs.append(sym.choice.direct_dep)
            if not any(node.prompt for node in sym.nodes):
                exprs.append(sym.rev_dep)  # a prompt-less symbol lives from its selectors
            deps = {item.name for expr in exprs for item in kconfiglib.expr_items(expr)
                    if isinstance(item, kconfiglib.Symbol)}
            if deps & off:
                effect.from_pruning = True
                off.add(effect.symbol)
                changed = True
