"""Kconfiglib on real kernel trees, and the reasons a requested value changed.

PyPI kconfiglib 14.1 predates two Kconfig keywords: the bare ``modules`` attribute (kernels >= 5.13,
``config MODULES ... modules``; kconfiglib knows only the older ``option modules``) and
``transitional`` (6.18+, marks a symbol kept only to migrate old configs). We do not vendor or
patch kconfiglib: :class:`KernelKconfig` overrides its ``_open`` hook and rewrites the text it reads
from Kconfig files — ``modules`` → ``option modules``, ``transitional`` → an empty line (line numbers
stay right; a transitional symbol then behaves as a prompt-less symbol, which is what it is for
explanations). ``.config`` files go through unchanged.

The values themselves always come from the kernel's own ``conf``; kconfiglib only explains them.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import kconfiglib

from perflab.errors import PerflabError

_MODULES_RE = re.compile(r"^([ \t]*)modules[ \t]*$", re.MULTILINE)
_TRANSITIONAL_RE = re.compile(r"^[ \t]*transitional[ \t]*$", re.MULTILINE)
_TRI = {"n": 0, "m": 1, "y": 2}


def preprocess_kconfig(text: str) -> str:
    """The Kconfig text kconfiglib 14.1 can parse (see the module docstring)."""
    if "modules" in text:
        text = _MODULES_RE.sub(r"\1option modules", text)
    if "transitional" in text:
        text = _TRANSITIONAL_RE.sub("", text)
    return text


class KernelKconfig(kconfiglib.Kconfig):
    """kconfiglib.Kconfig reading Kconfig files through :func:`preprocess_kconfig`."""

    _reading_config = False

    def _open(self, filename: str, mode: str):  # type: ignore[override]
        handle = super()._open(filename, mode)
        if mode != "r" or self._reading_config:
            return handle
        with handle:
            return io.StringIO(preprocess_kconfig(handle.read()))

    def load_values(self, path: str | Path) -> None:
        """Load a .config (verbatim, no preprocessing, no messages)."""
        self._reading_config = True
        try:
            self.load_config(str(path), replace=True)
        finally:
            self._reading_config = False


def subarch() -> str:
    """The kernel's SUBARCH for this machine (top Makefile's uname -m mapping)."""
    machine = os.uname().machine
    if re.fullmatch(r"i.86|x86_64", machine):
        return "x86"
    return {"aarch64": "arm64", "armv7l": "arm", "ppc64le": "powerpc", "ppc64": "powerpc",
            "riscv64": "riscv", "s390x": "s390", "loongarch64": "loongarch"}.get(machine, machine)


def srcarch(arch: str) -> str:
    return {"i386": "x86", "x86_64": "x86", "sparc64": "sparc", "parisc64": "parisc"}.get(arch, arch)


def kernel_version(srctree: Path) -> str:
    """KERNELVERSION from the tree's top Makefile."""
    fields: dict[str, str] = {}
    try:
        with (srctree / "Makefile").open(encoding="utf-8", errors="replace") as handle:
            for _ in range(12):
                line = handle.readline()
                match = re.match(r"(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(.*)", line)
                if match:
                    fields[match.group(1)] = match.group(2).strip()
    except OSError as error:
        raise PerflabError(f"{srctree}/Makefile: cannot read: {error.strerror}") from error
    version = fields.get("VERSION", "0")
    if fields.get("PATCHLEVEL"):
        version += "." + fields["PATCHLEVEL"]
        if fields.get("SUBLEVEL"):
            version += "." + fields["SUBLEVEL"]
    return version + fields.get("EXTRAVERSION", "")


def _first_line(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return ""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.splitlines()[0].replace("#", "") if out else ""


def kconfig_environment(srctree: Path, arch: str | None = None) -> dict[str, str]:
    """The variables the top Makefile exports to Kconfig (the subset Kconfig files read)."""
    arch = arch or os.environ.get("ARCH") or subarch()
    return {
        "srctree": str(srctree), "ARCH": arch, "SRCARCH": srcarch(arch),
        "KERNELVERSION": kernel_version(srctree), "CC": "gcc", "LD": "ld", "HOSTCC": "gcc",
        "HOSTCXX": "g++", "RUSTC": "rustc", "BINDGEN": "bindgen", "HOSTPKG_CONFIG": "pkg-config",
        "CC_VERSION_TEXT": _first_line(["gcc", "--version"]),
        "RUSTC_VERSION_TEXT": _first_line(["rustc", "--version"]),
    }


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def load_kconfig(srctree: Path, arch: str | None = None, cache_dir: Path | None = None) -> KernelKconfig:
    """Parse the tree's Kconfig with kconfiglib; a failure is a PerflabError naming the cause.

    With ``cache_dir`` the parsed tree is kept there (see :mod:`perflab.kernel.kconfig_cache`): a
    parse costs ~3-5 s of CPU (tokenising ~1,800 files and ~100 compiler probes), loading ~1 s.
    """
    env = kconfig_environment(srctree, arch)
    if cache_dir is not None:
        from perflab.kernel.kconfig_cache import cache_key, load_cached, save_cached

        key = cache_key(srctree, env, ".".join(map(str, getattr(kconfiglib, "VERSION", ()))))
        cached = load_cached(cache_dir, key)
        if isinstance(cached, KernelKconfig):
            return cached
    import gc

    gc_was_enabled = gc.isenabled()
    gc.disable()  # ~18k symbols and their expressions, few cycles: collecting mid-parse is wasted time
    try:
        with _environ(env):
            kconf = KernelKconfig(str(srctree / "Kconfig"), warn=False, warn_to_stderr=False)
    except (kconfiglib.KconfigError, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PerflabError(f"{srctree}/Kconfig: kconfiglib cannot parse this tree: {first}") from error
    finally:
        if gc_was_enabled:
            gc.enable()
    if cache_dir is not None:
        save_cached(cache_dir, key, kconf, srctree)
    return kconf


# -- explanations ------------------------------------------------------------------------------

def _value_list(expr: object, limit: int = 6) -> str:
    """``A=y, B=m`` for the symbols of an expression (not-y ones first: they are the culprits)."""
    items = [item for item in kconfiglib.expr_items(expr)
             if isinstance(item, kconfiglib.Symbol) and not item.is_constant and item.nodes]
    items.sort(key=lambda s: (s.tri_value == 2, s.name))
    shown = [f"{s.name}={s.str_value or 'n'}" for s in items[:limit]]
    if len(items) > limit:
        shown.append("...")
    return ", ".join(shown)


def _selectors(rev_dep: object, at_least: int) -> list[str]:
    """``NAME=value`` of the selecting symbols of a select/imply OR-expression reaching ``at_least``."""
    found = []
    for term in kconfiglib.split_expr(rev_dep, kconfiglib.OR):
        if kconfiglib.expr_value(term) >= at_least:
            first = term[1] if isinstance(term, tuple) else term
            if isinstance(first, kconfiglib.Symbol):
                found.append(f"{first.name}={first.str_value or 'n'}")
            else:
                found.append(kconfiglib.expr_str(term))
    return found


def _all_selectors(rev_dep: object) -> str:
    names = []
    for term in kconfiglib.split_expr(rev_dep, kconfiglib.OR):
        first = term[1] if isinstance(term, tuple) else term
        if isinstance(first, kconfiglib.Symbol) and not first.is_constant:
            names.append(f"{first.name}={first.str_value or 'n'}")
    return ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")


def explain(kconf: KernelKconfig, name: str, requested: str, actual: str) -> str:
    """Why ``name`` ended as ``actual`` when ``requested`` was asked for ('' if no reason found)."""
    sym = kconf.syms.get(name)
    if sym is None or not sym.nodes:
        return "not defined in this tree's Kconfig"
    reasons: list[str] = []
    if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE) and requested in _TRI and actual in _TRI:
        want, got = _TRI[requested], _TRI[actual]
        if sym.orig_type == kconfiglib.BOOL and requested == "m":
            reasons.append("bool symbol: m is not a valid value")
        if got < want:
            direct = sym.direct_dep
            if sym.choice is not None and kconfiglib.expr_value(sym.choice.direct_dep) < want:
                direct = sym.choice.direct_dep  # "<choice>" alone explains nothing: show the choice's
            dep = kconfiglib.expr_value(direct)
            if dep < want:
                reasons.append(f"depends on [{kconfiglib.expr_str(direct)}] which is "
                               f"{'nmy'[dep]} ({_value_list(direct)})")
            elif not any(node.prompt for node in sym.nodes):
                if kconfiglib.expr_value(sym.rev_dep) < want and sym.rev_dep is not kconf.n:
                    reasons.append(f"has no prompt and no active select ({_all_selectors(sym.rev_dep)})")
                else:
                    reasons.append("has no prompt: only its defaults and selects set it")
            elif sym.visibility < want:  # an int (0/1/2), already the prompts' conditions evaluated
                conds = [kconfiglib.expr_str(node.prompt[1]) for node in sym.nodes if node.prompt]
                reasons.append(f"prompt visible only if {' || '.join(conds)}")
            if requested == "m" and kconf.modules.tri_value == 0:
                reasons.append("CONFIG_MODULES is not set")
            if sym.choice is not None and sym.choice.selection is not sym:
                chosen = sym.choice.selection.name if sym.choice.selection else "none"
                reasons.append(f"member of a choice whose selection is {chosen}")
        elif got > want:
            selected = _selectors(sym.rev_dep, got)
            if selected:
                reasons.append("selected by " + ", ".join(selected))
            implied = _selectors(sym.weak_rev_dep, got)
            if implied:
                reasons.append("implied by " + ", ".join(implied))
            if not selected and not implied and not any(node.prompt for node in sym.nodes):
                reasons.append("has no prompt: its default applies")
            if requested == "m" and got == 2 and kconf.modules.tri_value == 0:
                reasons.append("CONFIG_MODULES is not set: m becomes y")
    else:
        if not any(node.prompt for node in sym.nodes):
            reasons.append("has no prompt: its default applies")
        ranges = [(lo, hi, cond) for lo, hi, cond in sym.ranges if kconfiglib.expr_value(cond)]
        if ranges:
            lo, hi, _ = ranges[0]
            reasons.append(f"allowed range {lo.str_value}..{hi.str_value}")
        dep = kconfiglib.expr_value(sym.direct_dep)
        if dep == 0:
            reasons.append(f"depends on [{kconfiglib.expr_str(sym.direct_dep)}] which is n "
                           f"({_value_list(sym.direct_dep)})")
    computed = sym.str_value if sym.type in (kconfiglib.BOOL, kconfiglib.TRISTATE) else None
    if computed is not None and (computed or "n") != actual:
        reasons.append(f"(kconfiglib computes {computed or 'n'}; the value shown is conf's)")
    return "; ".join(reasons)


def dependency_symbols(sym: kconfiglib.Symbol) -> set[str]:
    """Symbols a symbol needs: its ``depends on``; for a prompt-less one also its default values.

    Default *conditions* are not followed: they are often alternatives (``if A || B``) and keeping
    every alternative would keep modules nobody loads.
    """
    needed = {item.name for item in kconfiglib.expr_items(sym.direct_dep)
              if isinstance(item, kconfiglib.Symbol) and not item.is_constant}
    if not any(node.prompt for node in sym.nodes):
        for value, _cond in sym.defaults:
            for item in kconfiglib.expr_items(value):
                if isinstance(item, kconfiglib.Symbol) and not item.is_constant:
                    needed.add(item.name)
    return needed


def selector_terms(sym: kconfiglib.Symbol) -> list[tuple[str, set[str]]]:
    """Each ``select`` that can raise ``sym``: (selecting symbol, every symbol its term needs,
    i.e. the selector, the ``if`` condition and the selector's menu dependencies), in Kconfig order."""
    terms: list[tuple[str, set[str]]] = []
    for term in kconfiglib.split_expr(sym.rev_dep, kconfiglib.OR):
        first = term[1] if isinstance(term, tuple) else term
        if isinstance(first, kconfiglib.Symbol) and not first.is_constant:
            needed = {item.name for item in kconfiglib.expr_items(term)
                      if isinstance(item, kconfiglib.Symbol) and not item.is_constant and item.nodes}
            terms.append((first.name, needed))
    return terms


def has_prompt(sym: kconfiglib.Symbol) -> bool:
    return any(node.prompt for node in sym.nodes)


# -- what to add to the fragment ---------------------------------------------------------------

_LETTER = "nmy"


def _limiting(expr: object, want: int, blockers: list[str]) -> list[kconfiglib.Symbol]:
    """The symbols whose values hold ``expr`` below ``want`` (raising all of them lifts it); parts no
    fragment line can lift (a ``!X``, a comparison, a constant) go to ``blockers`` as text."""
    if kconfiglib.expr_value(expr) >= want:
        return []
    if isinstance(expr, kconfiglib.Symbol):
        if expr.is_constant or not expr.nodes:
            blockers.append(f"{expr.name} is {'undefined' if not expr.nodes else 'constant'}")
            return []
        return [expr]
    if isinstance(expr, kconfiglib.Choice):
        blockers.append(f"choice {expr.name or '<choice>'} is {_LETTER[expr.tri_value]}")
        return []
    op = expr[0]  # type: ignore[index]
    if op == kconfiglib.AND:
        return _limiting(expr[1], want, blockers) + _limiting(expr[2], want, blockers)  # type: ignore[index]
    if op == kconfiglib.OR:  # either side would do: take the one needing fewer changes
        options = []
        for side in (expr[1], expr[2]):  # type: ignore[index]
            side_blockers: list[str] = []
            found = _limiting(side, want, side_blockers)
            options.append((bool(side_blockers), len(found), found, side_blockers))
        best = min(options, key=lambda o: (o[0], o[1]))
        blockers.extend(best[3])
        return best[2]
    blockers.append(f"[{kconfiglib.expr_str(expr)}] is {_LETTER[kconfiglib.expr_value(expr)]}")
    return []


def _ceiling(sym: kconfiglib.Symbol) -> object:
    """The expression capping a value a fragment sets: the prompts' conditions, which kconfiglib has
    already joined with the ``depends on`` and the enclosing menus' and ifs' dependencies."""
    conds = [node.prompt[1] for node in sym.nodes if node.prompt]
    expr = conds[0] if conds else sym.direct_dep
    for cond in conds[1:]:
        expr = (kconfiglib.OR, expr, cond)
    return expr


def fragment_fix(kconf: KernelKconfig, name: str, requested: str) -> tuple[list[str], list[str], list[str]]:
    """What keeps ``name`` below ``requested`` and what a fragment must add to lift it.

    Returns (limiting dependencies as ``NAME=value``, fragment lines to add — the whole chain, since a
    dependency held down by its own dependencies would be lowered again — and blockers no line can
    lift: a prompt-less symbol only selects set, a ``!X`` or a comparison). Empty lists when the value
    is not held down by ``depends on``.
    """
    sym = kconf.syms.get(name)
    if sym is None or requested not in _TRI or sym.orig_type not in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        return [], [], []
    want = _TRI[requested]
    blockers: list[str] = []
    ceiling = _ceiling(sym)
    if sym.choice is not None and kconfiglib.expr_value(sym.choice.direct_dep) < want:
        ceiling = sym.choice.direct_dep
    limiting = _limiting(ceiling, want, blockers)
    culprits = [f"{s.name}={s.str_value or 'n'}" for s in limiting]
    lines: list[str] = []
    seen: set[str] = {name}

    def lift(dep: kconfiglib.Symbol) -> None:
        if dep.name in seen:
            return
        seen.add(dep.name)
        for below in _limiting(_ceiling(dep), want, blockers):
            lift(below)
        if not any(node.prompt for node in dep.nodes):
            blockers.append(f"{dep.name} has no prompt (set only by selects/defaults: "
                            f"{_all_selectors(dep.rev_dep) or 'no select'})")
            return
        value = "y" if want == 2 or dep.orig_type == kconfiglib.BOOL else "m"
        lines.append(f"CONFIG_{dep.name}={value}")

    for dep in limiting:
        lift(dep)
    return culprits, lines, blockers


def fix_works(kconf: KernelKconfig, name: str, requested: str, lines: list[str]) -> bool:
    """Whether ``lines`` plus the request give ``name`` its requested value, by kconfiglib's evaluation
    on the currently loaded values; the caller reloads the values afterwards."""
    for line in [*lines, f"CONFIG_{name}={requested}"]:
        symbol, _, value = line[len("CONFIG_"):].partition("=")
        kconf.syms[symbol].set_value(value)
    return (kconf.syms[name].str_value or "n") == requested


# -- toolchain-dependent values ----------------------------------------------------------------

_MACRO_RE = re.compile(r"\$\((\w[\w-]*)")
_TREE_MACROS = {"SRCARCH", "ARCH", "SUBARCH", "KERNELVERSION", "srctree", "UNAME_RELEASE"}


def _definition_text(root: Path, node: kconfiglib.MenuNode, files: dict[str, list[str]]) -> str:
    """The raw lines of one ``config`` entry (before kconfiglib expanded its ``$(...)`` macros)."""
    lines = files.get(node.filename)
    if lines is None:
        try:
            lines = (root / node.filename).read_text(encoding="utf-8", errors="replace").split("\n")
        except OSError:
            lines = []
        files[node.filename] = lines
    body = []
    for line in lines[node.linenr:]:  # linenr is 1-based: this starts after the `config` line
        if line and not line[0].isspace():
            break
        body.append(line)
    return "\n".join(body)


def toolchain_derived(kconf: KernelKconfig, root: Path, names: set[str]) -> dict[str, str]:
    """Which of ``names`` take their value from the build machine's tools: their Kconfig entry calls a
    macro (``$(cc-option,...)``, ``$(shell,...pahole-version.sh...)``, ``$(CC_VERSION_TEXT)``...)
    that runs or asks the compiler, assembler, linker, pahole or rustc. Maps symbol → first macro."""
    found: dict[str, str] = {}
    files: dict[str, list[str]] = {}
    for name in sorted(names):
        sym = kconf.syms.get(name)
        if sym is None:
            continue
        for node in sym.nodes:
            text = _definition_text(root, node, files)
            macros = [m for m in _MACRO_RE.findall(text) if m not in _TREE_MACROS]
            if macros:
                found[name] = macros[0]
                break
    return found


def needs_of(sym: kconfiglib.Symbol) -> set[str]:
    """Every symbol a symbol's value can hang on: ``depends on``, defaults and their conditions, selects."""
    exprs = [sym.direct_dep, sym.rev_dep, sym.weak_rev_dep]
    for value, cond in sym.defaults:
        exprs += [value, cond]
    return {item.name for expr in exprs for item in kconfiglib.expr_items(expr)
            if isinstance(item, kconfiglib.Symbol) and not item.is_constant}
