"""Hot-path groups as data: which Kconfig symbols, CPU flags and /proc/crypto algorithms matter.

The built-in groups live in ``perflab/kernel/groups/*.toml``; users add their own with ``--groups FILE``
or ``.perflab/kernel-groups/*.toml``. A user group with the name of an existing one extends it (a
symbol listed again replaces the earlier entry). Any mistake in a file is reported as ``file:line``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.fsutil import read_text_bounded
from perflab.kernel.config import canonical
from perflab.kernel.modules import module_name

USER_GROUPS_DIR = Path(".perflab") / "kernel-groups"
GROUP_FILE_LIMIT = 1024 * 1024  # a group file is a few KB of TOML


@dataclass
class SymbolSpec:
    name: str  # without CONFIG_
    modules: list[str] = field(default_factory=list)  # module names it builds (when =m)
    what: str = ""
    moved_to: list[str] = field(default_factory=list)  # the symbols that took its job in newer kernels
    moved_in: str = ""  # the kernel version (about) where it was replaced by ``moved_to``
    since: str = ""  # the version that introduced it, for a symbol with no predecessor


@dataclass
class FeatureSpec:
    flag: str  # /proc/cpuinfo flag
    symbols: list[str]  # any of these enabled means the flag has a driver
    what: str = ""
    algorithms: list[str] = field(default_factory=list)


@dataclass
class AlgorithmSpec:
    name: str  # /proc/crypto name
    accelerated: list[str] = field(default_factory=list)  # fnmatch patterns of driver names
    generic: list[str] = field(default_factory=list)
    library: list[str] = field(default_factory=list)  # lib/crypto wrappers: fast iff library_symbol=y
    library_symbol: str | None = None


@dataclass
class Group:
    name: str
    title: str
    source: str  # file it came from (the last one that extended it)
    symbols: list[SymbolSpec] = field(default_factory=list)
    features: list[FeatureSpec] = field(default_factory=list)
    algorithms: list[AlgorithmSpec] = field(default_factory=list)


_TABLES = {"group", "symbol", "feature", "algorithm"}
_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "group": {"name": str, "title": str},
    "symbol": {"name": str, "modules": list, "what": str, "moved_to": list, "moved_in": str,
               "since": str},
    "feature": {"flag": str, "symbols": list, "what": str, "algorithms": list},
    "algorithm": {"name": str, "accelerated": list, "generic": list, "library": list, "library_symbol": str},
}
_REQUIRED = {"group": ("name",), "symbol": ("name",), "feature": ("flag", "symbols"), "algorithm": ("name",)}


class _Locator:
    """Find the line of a table entry or key in TOML text (tomllib reports no lines for valid TOML)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def header(self, table: str, index: int | None) -> int:
        pattern = re.compile(r"\s*\[\[\s*" + re.escape(table) + r"\s*\]\]" if index is not None
                             else r"\s*\[\s*" + re.escape(table) + r"\s*\]")
        seen = -1
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                seen += 1
                if index is None or seen == index:
                    return number
        return 1

    def key(self, table: str, index: int | None, key: str) -> int:
        start = self.header(table, index)
        pattern = re.compile(r"\s*" + re.escape(key) + r"\s*=")
        for number in range(start, len(self.lines) + 1):
            line = self.lines[number - 1]
            if number > start and line.lstrip().startswith("["):
                break
            if pattern.match(line):
                return number
        return start


def _check_entry(entry: Any, table: str, index: int | None, path: str, where: _Locator) -> dict[str, Any]:
    label = f"[[{table}]] #{index + 1}" if index is not None else f"[{table}]"
    if not isinstance(entry, dict):
        raise PerflabError(f"{path}:{where.header(table, index)}: {label} must be a table")
    for key, value in entry.items():
        expected = _KEYS[table].get(key)
        line = where.key(table, index, key)
        if expected is None:
            known = ", ".join(sorted(_KEYS[table]))
            raise PerflabError(f"{path}:{line}: unknown key {key!r} in {label} (known: {known})")
        if not isinstance(value, expected):
            kind = "a list of strings" if expected is list else "a string"
            raise PerflabError(f"{path}:{line}: {label} {key} must be {kind}")
        if expected is list and not all(isinstance(item, str) for item in value):
            raise PerflabError(f"{path}:{line}: {label} {key} must be a list of strings")
    for key in _REQUIRED[table]:
        if key not in entry:
            raise PerflabError(f"{path}:{where.header(table, index)}: {label} lacks {key!r}")
    symbol_keys = {"symbol": ("name", "moved_to"), "feature": ("symbols",), "algorithm": ("library_symbol",)}
    for key in symbol_keys.get(table, ()):
        if key in entry:
            names = entry[key] if isinstance(entry[key], list) else [entry[key]]
            for name in names:
                try:
                    canonical(name)
                except PerflabError as error:
                    raise PerflabError(f"{path}:{where.key(table, index, key)}: {error.message}") from error
    return entry


def parse_groups(text: str, path: str) -> Group:
    """One group file → Group; errors are ``path:line: reason``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if match:
            reason = message[: match.start()].strip()
            raise PerflabError(f"{path}:{match.group(1)}: {reason} (column {match.group(2)})") from error
        if "(at end of document)" in message:
            reason = message.replace("(at end of document)", "").strip()
            last = max(len(text.splitlines()), 1)
            raise PerflabError(f"{path}:{last}: {reason} (at the end of the file)") from error
        raise PerflabError(f"{path}: {message}") from error
    where = _Locator(text)
    for key, value in data.items():
        if key not in _TABLES:
            raise PerflabError(f"{path}:{_top_line(where, key)}: unknown table or key {key!r} "
                               "(expected [group], [[symbol]], [[feature]], [[algorithm]])")
        if key != "group" and not isinstance(value, list):
            raise PerflabError(f"{path}:{_top_line(where, key)}: {key!r} must be an array of tables "
                               f"([[{key}]])")
    if "group" not in data:
        raise PerflabError(f"{path}:1: missing [group] table with a name")
    head = _check_entry(data["group"], "group", None, path, where)
    group = Group(name=head["name"], title=head.get("title", head["name"]), source=path)
    for i, entry in enumerate(data.get("symbol", [])):
        entry = _check_entry(entry, "symbol", i, path, where)
        modules = [module_name(m) for m in entry.get("modules", [])]
        group.symbols.append(SymbolSpec(canonical(entry["name"]), modules, entry.get("what", ""),
                                        [canonical(m) for m in entry.get("moved_to", [])],
                                        entry.get("moved_in", ""), entry.get("since", "")))
    for i, entry in enumerate(data.get("feature", [])):
        entry = _check_entry(entry, "feature", i, path, where)
        if not entry["symbols"]:
            raise PerflabError(f"{path}:{where.key('feature', i, 'symbols')}: [[feature]] #{i + 1} "
                               "symbols is empty")
        group.features.append(FeatureSpec(entry["flag"], [canonical(s) for s in entry["symbols"]],
                                          entry.get("what", ""), list(entry.get("algorithms", []))))
    for i, entry in enumerate(data.get("algorithm", [])):
        entry = _check_entry(entry, "algorithm", i, path, where)
        symbol = entry.get("library_symbol")
        group.algorithms.append(AlgorithmSpec(entry["name"], list(entry.get("accelerated", [])),
                                              list(entry.get("generic", [])), list(entry.get("library", [])),
                                              canonical(symbol) if symbol else None))
    return group


def _top_line(where: _Locator, key: str) -> int:
    pattern = re.compile(r"\s*(\[\[?\s*" + re.escape(key) + r"\s*\]\]?|" + re.escape(key) + r"\s*=)")
    for number, line in enumerate(where.lines, start=1):
        if pattern.match(line):
            return number
    return 1


def load_group_file(path: str | Path) -> Group:
    path = Path(path)
    text = read_text_bounded(path, limit=GROUP_FILE_LIMIT, what="group file")
    return parse_groups(text, str(path))


_BUILTIN_ORDER = ("crypto", "storage", "compression", "virtualization", "network")


def _builtin_rank(name: str) -> tuple[int, str]:
    stem = name.removesuffix(".toml")
    return (_BUILTIN_ORDER.index(stem) if stem in _BUILTIN_ORDER else len(_BUILTIN_ORDER), stem)


def builtin_group_files() -> list[tuple[str, str]]:
    """(label, text) of the packaged groups: the issue's order first, then any others by name."""
    folder = resources.files("perflab.kernel") / "groups"
    files = sorted((entry for entry in folder.iterdir() if entry.name.endswith(".toml")),
                   key=lambda entry: _builtin_rank(entry.name))
    return [(f"perflab/kernel/groups/{entry.name}", entry.read_text(encoding="utf-8")) for entry in files]


def merge_group(groups: dict[str, Group], extra: Group) -> None:
    """Add ``extra``; a group of the same name is extended, a repeated symbol replaced."""
    base = groups.get(extra.name)
    if base is None:
        groups[extra.name] = extra
        return
    for spec in extra.symbols:
        base.symbols = [s for s in base.symbols if s.name != spec.name] + [spec]
    base.features.extend(extra.features)
    for algo in extra.algorithms:
        base.algorithms = [a for a in base.algorithms if a.name != algo.name] + [algo]
    if extra.title != extra.name:
        base.title = extra.title
    base.source = extra.source


def load_groups(extra_files: list[Path] | None = None, cwd: Path | None = None,
                include_builtin: bool = True) -> list[Group]:
    """Built-in groups, then ``.perflab/kernel-groups/*.toml`` under ``cwd``, then ``extra_files``."""
    groups: dict[str, Group] = {}
    if include_builtin:
        for label, text in builtin_group_files():
            merge_group(groups, parse_groups(text, label))
    user_dir = (cwd or Path.cwd()) / USER_GROUPS_DIR
    if user_dir.is_dir():
        for path in sorted(user_dir.glob("*.toml")):
            merge_group(groups, load_group_file(path))
    for path in extra_files or []:
        merge_group(groups, load_group_file(path))
    return list(groups.values())


@dataclass
class Lineage:
    """Which symbols replaced which across kernel versions (6.1 → 7.x), from the groups' ``moved_to``:
    an old symbol absent from a newer config has "moved", a new one absent from an older config is
    "not yet" there."""

    moved_to: dict[str, list[str]] = field(default_factory=dict)
    moved_in: dict[str, str] = field(default_factory=dict)
    since: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, groups: list[Group]) -> Lineage:
        lineage = cls()
        for group in groups:
            for spec in group.symbols:
                if spec.since:
                    lineage.since[spec.name] = spec.since
                if spec.moved_to:
                    lineage.moved_to[spec.name] = list(spec.moved_to)
                    lineage.moved_in[spec.name] = spec.moved_in
        return lineage

    def successors(self, name: str) -> list[tuple[str, str]]:
        """(newer symbol, version it took over) in replacement order, following chains
        (POLYVAL_CLMUL_NI → LIB_POLYVAL_ARCH → LIB_GF128HASH_ARCH)."""
        found: list[tuple[str, str]] = []
        queue = [name]
        while queue:
            current = queue.pop(0)
            for new in self.moved_to.get(current, []):
                if new != name and all(new != f for f, _ in found):
                    found.append((new, self.moved_in.get(current, "")))
                    queue.append(new)
        return found

    def predecessors(self, name: str) -> list[tuple[str, str]]:
        """(older symbol, version it was replaced in), nearest first."""
        found: list[tuple[str, str]] = []
        queue = [name]
        while queue:
            current = queue.pop(0)
            for old, news in self.moved_to.items():
                if current in news and old != name and all(old != f for f, _ in found):
                    found.append((old, self.moved_in.get(old, "")))
                    queue.append(old)
        return found

    def relation(self, name: str, values: dict[str, str]) -> tuple[str, str]:
        """(kind, text) of what the groups know about ``name``, absent from a config with ``values``:
        ``moved`` (a successor is in the config), ``newer`` (a predecessor is), ``replaced`` / ``new``
        (known history, nothing of it in the config), or ``("", "")``."""
        for new, version in self.successors(name):
            if new in values:
                return "moved", f"moved to CONFIG_{new}{_around(version)} (CONFIG_{new}={values[new]} here)"
        for old, version in self.predecessors(name):
            if old in values:
                return "newer", (f"newer symbol: replaced CONFIG_{old}{_around(version)} "
                                 f"(CONFIG_{old}={values[old]} here)")
        successors = self.successors(name)
        if successors:
            new, version = successors[0]
            return "replaced", f"replaced by CONFIG_{new}{_around(version)}"
        predecessors = self.predecessors(name)
        if predecessors:
            old, version = predecessors[0]
            return "replaced", f"newer symbol: replaced CONFIG_{old}{_around(version)}"
        if name in self.since:
            return "new", f"new in {self.since[name]}"
        return "", ""


def _around(version: str) -> str:
    return f" around {version}" if version else ""

