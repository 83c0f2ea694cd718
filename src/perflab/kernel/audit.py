"""`perflab kernel audit`: is the hot path of this kernel built, loaded and actually used?

Three sources are cross-checked because each alone misleads: the .config says what was asked for,
the module lists (or /proc/modules) say what was built or loaded, /proc/crypto says which driver the
kernel picks at run time, and /proc/cpuinfo says what the CPU could do.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from perflab.errors import PerflabError
from perflab.kernel.config import KernelConfig, running_config
from perflab.kernel.hotpath import AlgorithmSpec, Group, Lineage, SymbolSpec
from perflab.kernel.modules import LoadedModule, ModuleTree
from perflab.kernel.proc_crypto import CryptoDriver, drivers_for

# Symbol states (the ``state`` field of SymbolState).
BUILTIN = "builtin"
MODULE = "module"
NOT_SET = "not set"
ABSENT = "absent"
MOVED = "moved"  # absent, but a successor symbol is in the config (the job moved there)
NOT_YET = "not yet"  # absent, a newer symbol whose predecessor is in the config
VALUE = "value"  # a string/int/hex symbol


@dataclass
class Sources:
    """Everything the audit reads; None where a source does not exist or does not apply."""

    config: KernelConfig
    config_label: str
    running: bool  # the files describe the kernel this process runs on
    release: str | None = None
    loaded: dict[str, LoadedModule] | None = None  # /proc/modules (running kernel with modules)
    tree: ModuleTree | None = None  # modules.order/.builtin of the build
    cpu_flags: set[str] | None = None
    crypto: list[CryptoDriver] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class SymbolState:
    group: str
    symbol: str
    what: str
    state: str  # builtin | module | not set | absent | value
    value: str | None  # the raw config value
    detail: str  # loaded / not loaded / in modules.order / …
    modules: list[str] = field(default_factory=list)


@dataclass
class AlgorithmState:
    group: str
    algorithm: str
    driver: str | None  # the driver the crypto API picks, None when none is registered
    priority: int | None
    module: str | None
    kind: str  # accelerated | generic | unclassified | not registered
    reason: str
    others: list[dict[str, object]] = field(default_factory=list)  # every usable driver, best first


@dataclass
class Finding:
    """A CPU feature the kernel does not use, or another thing worth acting on."""

    group: str
    kind: str  # cpu-feature-unused | module-not-loaded | module-missing | no-symbol
    message: str
    flag: str | None = None
    symbols: list[str] = field(default_factory=list)


@dataclass
class AuditReport:
    config: str
    running: bool
    release: str | None
    modules_enabled: bool
    modules_source: str
    symbols: list[SymbolState]
    algorithms: list[AlgorithmState]
    findings: list[Finding]
    notes: list[str]
    cpu_flags_checked: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _module_detail(spec: SymbolSpec, value: str, src: Sources) -> str:
    if not spec.modules:
        return ""
    mods = spec.modules  # normalised by hotpath.parse_groups
    if value == "m":
        if src.loaded is not None:
            hit = [m for m in mods if m in src.loaded]
            return f"loaded ({', '.join(hit)})" if hit else "not loaded"
        if src.tree is not None and src.tree.order:
            hit = [m for m in mods if m in src.tree.order]
            return (f"in modules.order ({', '.join(hit)})" if hit
                    else f"not in modules.order (expected {', '.join(mods)})")
        return "module lists not available"
    if value == "y" and src.tree is not None:
        hit = [m for m in mods if m in src.tree.builtin]
        if hit:
            return f"in modules.builtin ({', '.join(hit)})"
        return "not in modules.builtin" if src.tree.builtin else ""
    return ""


def symbol_state(group: str, spec: SymbolSpec, src: Sources, lineage: Lineage | None = None) -> SymbolState:
    value = src.config.get(spec.name)
    if value is None:
        kind, history = lineage.relation(spec.name, src.config.as_dict()) if lineage else ("", "")
        state, detail = ABSENT, ("not in this config (no such symbol in this version, "
                                 "or a hidden symbol nothing selected)")
        if kind == "moved":
            state, detail = MOVED, history
        elif kind == "newer":
            state, detail = NOT_YET, history
        elif history:
            detail = f"not in this config; {history}"
    elif value == "n":
        state, detail = NOT_SET, ""
    elif value == "y":
        state, detail = BUILTIN, _module_detail(spec, value, src)
    elif value == "m":
        state, detail = MODULE, _module_detail(spec, value, src)
    else:
        state, detail = VALUE, value
    return SymbolState(group, spec.name, spec.what, state, value, detail, list(spec.modules))


def _matches(driver: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(driver, pattern) for pattern in patterns)


def present_successor(symbol: str, config: KernelConfig, lineage: Lineage | None) -> str:
    """``symbol`` if the config has it, else the first of its successors it has (else ``symbol``)."""
    if symbol in config or lineage is None:
        return symbol
    return next((new for new, _ in lineage.successors(symbol) if new in config), symbol)


def classify_driver(driver: str, spec: AlgorithmSpec, config: KernelConfig,
                    lineage: Lineage | None = None) -> tuple[str, str]:
    """(kind, reason) for one driver name of ``spec.name``."""
    if _matches(driver, spec.accelerated):
        return "accelerated", "CPU-specific driver"
    if _matches(driver, spec.library):
        symbol = present_successor(spec.library_symbol, config, lineage) if spec.library_symbol else None
        value = config.get(symbol) if symbol else None
        if value == "y":
            return "accelerated", f"lib/crypto wrapper with CONFIG_{symbol}=y (arch code chosen at boot)"
        shown = "absent" if value is None else f"={value}"
        return "generic", f"lib/crypto wrapper, CONFIG_{symbol} {shown}: generic C code"
    if _matches(driver, spec.generic):
        return "generic", "portable C implementation"
    return "unclassified", "driver not listed in the group data"


def algorithm_state(group: str, spec: AlgorithmSpec, src: Sources,
                    lineage: Lineage | None = None) -> AlgorithmState:
    assert src.crypto is not None
    found = drivers_for(src.crypto, spec.name)
    others = [{"driver": d.driver, "priority": d.priority, "module": d.module, "selftest": d.selftest}
              for d in found]
    if not found:
        reason = ("template instance: registered on first use, if its template is built" if "(" in spec.name
                  else "no driver in /proc/crypto: not built, or its module is not loaded")
        return AlgorithmState(group, spec.name, None, None, None, "not registered", reason, others)
    best = found[0]
    kind, reason = classify_driver(best.driver, spec, src.config, lineage)
    return AlgorithmState(group, spec.name, best.driver, best.priority, best.module, kind, reason, others)


_TEMPLATE_SYMBOLS = {"xts": "CRYPTO_XTS", "cbc": "CRYPTO_CBC", "gcm": "CRYPTO_GCM", "ctr": "CRYPTO_CTR"}


def _explain_template(algo: AlgorithmState, by_name: dict[str, AlgorithmState], config: KernelConfig) -> None:
    """For an unregistered ``tmpl(cipher)``: is the template built, and which cipher driver it would wrap."""
    if algo.driver is not None or "(" not in algo.algorithm or not algo.algorithm.endswith(")"):
        return
    template, inner = algo.algorithm[:-1].split("(", 1)
    symbol = _TEMPLATE_SYMBOLS.get(template)
    value = config.get(symbol) if symbol else None
    base = by_name.get(inner)
    wraps = (f"; would wrap {inner} driver {base.driver} ({base.kind})"
             if base is not None and base.driver is not None else "")
    if symbol and value not in ("y", "m"):
        shown = "is absent" if value is None else "is not set" if value == "n" else f"={value}"
        algo.reason = f"cannot be instantiated: template CONFIG_{symbol} {shown}"
    elif symbol:
        algo.reason = f"template instance, registered on first use (CONFIG_{symbol}={value}){wraps}"
    else:
        algo.reason += wraps


def _enabled(value: str | None) -> bool:
    return value in ("y", "m")


def feature_findings(group: Group, src: Sources, algorithms: dict[str, AlgorithmState],
                     lineage: Lineage | None = None) -> list[Finding]:
    """CPU flags present while none of the symbols that would use them (or their successors in newer
    kernels) is enabled."""
    findings: list[Finding] = []
    if src.cpu_flags is None:
        return findings
    for feature in group.features:
        if feature.flag not in src.cpu_flags:
            continue
        symbols = list(feature.symbols)
        for name in feature.symbols:
            symbols += [new for new, _ in (lineage.successors(name) if lineage else []) if new not in symbols]
        values = {s: src.config.get(s) for s in symbols}
        present = {s: v for s, v in values.items() if v is not None}
        if any(_enabled(v) for v in present.values()):
            continue
        what = f" ({feature.what})" if feature.what else ""
        if present:
            told = ", ".join(f"CONFIG_{s} {'is not set' if v == 'n' else '=' + v}"
                             for s, v in present.items())
            message = f"CPU has {feature.flag}{what} but {told}"
            kind = "cpu-feature-unused"
        else:
            message = (f"CPU has {feature.flag}{what} but no symbol for it exists in this config "
                       f"(looked for {', '.join('CONFIG_' + s for s in symbols)})")
            kind = "no-symbol"
        runs = []
        for name in feature.algorithms:
            algo = algorithms.get(name)
            if algo is None:
                continue
            if algo.driver is None:
                runs.append(f"{name}: not registered ({algo.reason})")
            else:
                runs.append(f"{name} runs on {algo.driver} ({algo.kind}, priority {algo.priority})")
        if runs:
            message += "; " + "; ".join(runs)
        findings.append(Finding(group.name, kind, message, feature.flag, symbols))
    return findings


def module_findings(states: list[SymbolState], src: Sources) -> list[Finding]:
    findings = []
    for st in states:
        if st.state != MODULE or not st.modules:
            continue
        if st.detail == "not loaded":
            findings.append(Finding(st.group, "module-not-loaded",
                                    f"CONFIG_{st.symbol}=m but {', '.join(st.modules)} is not loaded",
                                    symbols=[st.symbol]))
        elif st.detail.startswith("not in modules.order"):
            findings.append(Finding(st.group, "module-missing",
                                    f"CONFIG_{st.symbol}=m but {st.modules[0]}.ko is not in modules.order",
                                    symbols=[st.symbol]))
    return findings


def audit(groups: list[Group], src: Sources) -> AuditReport:
    modules_enabled = src.config.get("MODULES") == "y"
    notes = list(src.notes)
    if not modules_enabled:
        notes.append("CONFIG_MODULES is off: every driver is builtin or absent; =m symbols cannot exist")
    if src.running:
        modules_source = "/proc/modules" if src.loaded is not None else "none (no /proc/modules)"
    elif src.tree is not None:
        modules_source = str(src.tree.directory)
        if src.tree.missing:
            notes.append(f"{src.tree.directory}: missing {', '.join(src.tree.missing)}")
    else:
        modules_source = "none (give --modules-dir for modules.order/modules.builtin)"
    if src.cpu_flags is None:
        notes.append("CPU flags not checked (another machine's files; pass --cpuinfo FILE to check)")
    if src.crypto is None:
        notes.append("/proc/crypto not read (another machine's files; pass --proc-crypto FILE)")
    symbols: list[SymbolState] = []
    algorithms: list[AlgorithmState] = []
    findings: list[Finding] = []
    lineage = Lineage.of(groups)
    if src.crypto is not None:
        algorithms = [algorithm_state(group.name, spec, src, lineage) for group in groups
                      for spec in group.algorithms]
    by_name = {algo.algorithm: algo for algo in algorithms}
    for algo in algorithms:
        _explain_template(algo, by_name, src.config)
    for group in groups:
        states = [symbol_state(group.name, spec, src, lineage) for spec in group.symbols]
        symbols.extend(states)
        findings.extend(feature_findings(group, src, by_name, lineage))
        findings.extend(module_findings(states, src))
    return AuditReport(config=src.config_label, running=src.running, release=src.release,
                       modules_enabled=modules_enabled, modules_source=modules_source, symbols=symbols,
                       algorithms=algorithms, findings=findings, notes=notes,
                       cpu_flags_checked=src.cpu_flags is not None)


def gather_sources(config: Path | None = None, modules_dir: Path | None = None, cpuinfo: Path | None = None,
                   proc_crypto: Path | None = None) -> Sources:
    """The running kernel's sources when ``config`` is None, else another machine's files."""
    from perflab.kernel.cpu import PROC_CPUINFO, read_cpu_flags
    from perflab.kernel.modules import read_proc_modules
    from perflab.kernel.proc_crypto import PROC_CRYPTO, read_proc_crypto

    if config is None and modules_dir is not None:
        candidates = sorted(modules_dir.glob("config-*")) + sorted(modules_dir.glob(".config"))
        if len(candidates) != 1:
            raise PerflabError(f"{modules_dir}: --modules-dir without --config needs exactly one config-* "
                               f"or .config in it, found {len(candidates)}")
        config = candidates[0]
    if config is None:
        release = os.uname().release
        kconfig, label = running_config(release=release)
        src = Sources(kconfig, label, running=True, release=release)
        src.loaded = read_proc_modules()
        tree_dir = Path("/lib/modules") / release
        if modules_dir is not None:
            tree_dir = modules_dir
        if tree_dir.is_dir() and any((tree_dir / n).is_file() for n in ("modules.order", "modules.builtin")):
            src.tree = ModuleTree.load(tree_dir)
        src.cpu_flags = read_cpu_flags(cpuinfo or PROC_CPUINFO)
        src.crypto = read_proc_crypto(proc_crypto or PROC_CRYPTO)
        return src
    loaded = KernelConfig.load(config)
    header = loaded.header()
    src = Sources(loaded, str(config), running=False, release=header[1] if header else None)
    if modules_dir is not None:
        src.tree = ModuleTree.load(modules_dir)
    if cpuinfo is not None:
        src.cpu_flags = read_cpu_flags(cpuinfo)
    if proc_crypto is not None:
        src.crypto = read_proc_crypto(proc_crypto)
    return src
