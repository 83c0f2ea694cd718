"""The kernel ``.config`` model: parse, query, change and write, keeping order and comments.

Symbol names: every method accepts a name with or without the ``CONFIG_`` prefix
(``"CONFIG_KVM"`` and ``"KVM"`` are the same symbol); names are *stored and returned without* the
prefix, as Kconfig spells them. Values are returned as the text Kconfig uses: ``"y"``, ``"m"``,
``"n"`` (a ``# CONFIG_X is not set`` line), the unescaped text of a string, the decimal text of an
int, the ``0x...`` text of a hex. ``get`` returns ``None`` for a symbol the file does not mention,
which is different from ``"n"``.

The parser follows the rules of the kernel's ``scripts/kconfig/confdata.c`` and is stricter where the
kernel only warns: a line it cannot read is a :class:`PerflabError` ``"file:line: reason"``.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from perflab.errors import PerflabError
from perflab.fsutil import atomic_write, read_bounded

PROC_CONFIG = Path("/proc/config.gz")
PREFIX = "CONFIG_"
TRISTATE = "tristate"
STRING = "string"
INT = "int"
HEX = "hex"

_NAME_RE = re.compile(r"[A-Za-z0-9_]+\Z")
_NOT_SET_RE = re.compile(r"# CONFIG_([A-Za-z0-9_]+) is not set\s*\Z")
_ASSIGN_RE = re.compile(r"CONFIG_([A-Za-z0-9_]+)=(.*)\Z")
_INT_RE = re.compile(r"-?[0-9]+\Z")
_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]+\Z")
_FAST_TRISTATE_RE = re.compile(r"CONFIG_([A-Za-z0-9_]+)=([ymn])\Z")
_NOT_SET_PREFIX = "# CONFIG_"
_HEADER_RE = re.compile(r"# Linux/(\S+) (\S+) Kernel Configuration\s*\Z")
#: Largest .config (or fragment) read, compressed or not: Debian's full config is ~300 KB.
CONFIG_LIMIT = 16 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_NOT_SET_SUFFIX = " is not set"


def canonical(symbol: str) -> str:
    """The stored form of a symbol name: without ``CONFIG_``; rejects names Kconfig cannot have."""
    name = symbol[len(PREFIX):] if symbol.startswith(PREFIX) else symbol
    if not name or not _NAME_RE.match(name):
        raise PerflabError(f"invalid kernel symbol name {symbol!r}")
    return name


def infer_kind(value: str) -> str:
    """Kind of a value given as text: y/m/n are tristate, then int, hex, else string."""
    if value in ("y", "m", "n"):
        return TRISTATE
    if _INT_RE.match(value):
        return INT
    if _HEX_RE.match(value):
        return HEX
    return STRING


def escape_string(text: str) -> str:
    """Quote a string value the way confdata.c does (backslash before ``"`` and ``\\``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(name: str, value: str, kind: str) -> str:
    """The .config line for one assignment."""
    if kind == TRISTATE and value == "n":
        return f"# {PREFIX}{name} is not set"
    if kind == STRING:
        return f"{PREFIX}{name}={escape_string(value)}"
    return f"{PREFIX}{name}={value}"


@dataclass(slots=True)
class Symbol:
    """One assignment of a .config: ``line`` is 1-based in the file it came from (0: added in memory)."""

    name: str
    value: str
    kind: str
    line: int = 0
    raw: str | None = None  # the original text, reused on write while the value is unchanged

    def text(self) -> str:
        return self.raw if self.raw is not None else render(self.name, self.value, self.kind)


@dataclass(frozen=True)
class Override:
    """A symbol assigned twice in one file (the kernel warns "override: reassigning"; later wins)."""

    name: str
    old: str
    new: str
    first_line: int
    line: int


def _parse_string(body: str, where: str) -> str:
    """Unescape a quoted value; ``body`` starts after the opening quote."""
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body):
                raise PerflabError(f"{where}: unterminated string value")
            out.append(body[i + 1])
            i += 2
            continue
        if c == '"':
            rest = body[i + 1:].strip()
            if rest:
                raise PerflabError(f"{where}: text after the closing quote: {rest!r}")
            return "".join(out)
        out.append(c)
        i += 1
    raise PerflabError(f"{where}: unterminated string value")


def parse_value(text: str, where: str) -> tuple[str, str]:
    """(value, kind) of the right-hand side of ``CONFIG_X=...``."""
    if text.startswith('"'):
        return _parse_string(text[1:], where), STRING
    value = text.strip()
    if not value:
        raise PerflabError(f"{where}: empty value (write '# CONFIG_X is not set' or a quoted \"\")")
    kind = infer_kind(value)
    if kind == STRING:
        raise PerflabError(f"{where}: unquoted value {value!r} is not y, m, n, an int or a hex")
    return value, kind


class KernelConfig:
    """An ordered .config: assignments plus the comment and blank lines between them."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        # Each line is a Symbol or the verbatim text of a comment/blank line.
        self._lines: list[Symbol | str] = []
        self._index: dict[str, Symbol] = {}
        self.overrides: list[Override] = []

    # -- reading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> KernelConfig:
        """Read a .config file, gzip-compressed or not (a copied /proc/config.gz); a missing, oversized,
        non-regular (``/dev/zero``, a FIFO) or malformed file raises PerflabError naming it."""
        path = Path(path)
        return cls.loads(read_config_text(path), path)

    @classmethod
    def loads(cls, text: str, path: str | Path | None = None) -> KernelConfig:
        config = cls(path)
        label = str(path) if path is not None else "<string>"
        lines, index = config._lines, config._index
        fast_match = _FAST_TRISTATE_RE.match
        name_match = _NAME_RE.match
        # Fast paths for the three line shapes that make up almost all of a kernel .config; anything
        # else (and every duplicate) goes through the general parser. Lines end at "\n" only, as in
        # confdata.c: str.splitlines() would also split at a form feed or U+2028 inside a quoted value.
        rows = text.split("\n")
        if rows and not rows[-1]:
            rows.pop()
        for number, line in enumerate(rows, start=1):
            if line.startswith("CONFIG_"):
                match = fast_match(line)
                if match is not None and match.group(1) not in index:
                    entry = Symbol(match.group(1), match.group(2), TRISTATE, number, line)
                    lines.append(entry)
                    index[entry.name] = entry
                    continue
            elif line.startswith(_NOT_SET_PREFIX) and line.endswith(_NOT_SET_SUFFIX):
                name = line[len(_NOT_SET_PREFIX):-len(_NOT_SET_SUFFIX)]
                if name_match(name) and name not in index:
                    entry = Symbol(name, "n", TRISTATE, number, line)
                    lines.append(entry)
                    index[name] = entry
                    continue
            elif not line or (line[0] == "#" and not line.startswith(_NOT_SET_PREFIX)):
                lines.append(line)
                continue
            config._parse_line(line, number, label)
        return config

    def _parse_line(self, line: str, number: int, label: str) -> None:
        line = line.rstrip("\r")
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not stripped.startswith("# CONFIG_")):
            self._lines.append(line)
            return
        where = f"{label}:{number}"
        if stripped.startswith("# CONFIG_"):
            match = _NOT_SET_RE.match(stripped)
            if match is None:
                # "# CONFIG_FOO" without "is not set" is a plain comment to the kernel too.
                self._lines.append(line)
                return
            self._assign(Symbol(match.group(1), "n", TRISTATE, number, line), where)
            return
        match = _ASSIGN_RE.match(stripped)
        if match is None:
            if stripped.startswith(PREFIX) and "=" not in stripped:
                raise PerflabError(f"{where}: missing '=' in {stripped!r}")
            raise PerflabError(f"{where}: expected 'CONFIG_NAME=value', '# CONFIG_NAME is not set' "
                               f"or a comment, got {stripped!r}")
        value, kind = parse_value(match.group(2), where)
        self._assign(Symbol(match.group(1), value, kind, number, line), where)

    def _assign(self, symbol: Symbol, where: str) -> None:
        previous = self._index.get(symbol.name)
        if previous is None:
            self._lines.append(symbol)
            self._index[symbol.name] = symbol
            return
        self.overrides.append(Override(symbol.name, previous.value, symbol.value, previous.line, symbol.line))
        previous.value, previous.kind, previous.raw = symbol.value, symbol.kind, symbol.raw
        previous.line = symbol.line

    # -- querying ----------------------------------------------------------------------------
    def get(self, symbol: str, default: str | None = None) -> str | None:
        """The value of ``symbol`` (``"n"`` for 'is not set'), ``default`` when the file lacks it."""
        entry = self._index.get(canonical(symbol))
        return entry.value if entry is not None else default

    def header(self) -> tuple[str, str] | None:
        """(arch, kernel version) from the header conf writes (``# Linux/x86 6.12.117 Kernel
        Configuration``), None when the file has none (a fragment, a hand-written file)."""
        for line in self._lines[:12]:
            if isinstance(line, str):
                match = _HEADER_RE.match(line)
                if match:
                    return match.group(1), match.group(2)
        return None

    def entry(self, symbol: str) -> Symbol | None:
        """The full record (value, kind, line) or None."""
        return self._index.get(canonical(symbol))

    def kind(self, symbol: str) -> str | None:
        entry = self._index.get(canonical(symbol))
        return entry.kind if entry is not None else None

    def __contains__(self, symbol: object) -> bool:
        return isinstance(symbol, str) and canonical(symbol) in self._index

    def __iter__(self) -> Iterator[Symbol]:
        """Assignments in file order (comments are skipped)."""
        return (line for line in self._lines if isinstance(line, Symbol))

    def __len__(self) -> int:
        return len(self._index)

    def items(self) -> Iterator[tuple[str, str]]:
        return ((entry.name, entry.value) for entry in self)

    def as_dict(self) -> dict[str, str]:
        return {entry.name: entry.value for entry in self}

    def count(self, value: str) -> int:
        """How many symbols have this value (e.g. ``count("y")``)."""
        return sum(1 for entry in self._index.values() if entry.value == value)

    # -- changing ----------------------------------------------------------------------------
    def set(self, symbol: str, value: str | int | bool, kind: str | None = None) -> str | None:
        """Assign ``value`` and return the previous value (None if absent).

        ``True``/``False`` mean y/n, a Python int is an int. For text the kind is kept from the
        existing line, else inferred (y/m/n, int, ``0x`` hex, otherwise string); pass
        ``kind="string"`` to store a string that looks like "y" or "12".
        """
        name = canonical(symbol)
        if isinstance(value, bool):
            text, inferred = ("y" if value else "n"), TRISTATE
        elif isinstance(value, int):
            text, inferred = str(value), INT
        else:
            text, inferred = value, infer_kind(value)
        existing = self._index.get(name)
        if kind is None:
            # A string symbol stays a string even when the new text looks like "y" or "12".
            kind = STRING if existing is not None and existing.kind == STRING else inferred
        if kind not in (TRISTATE, STRING, INT, HEX):
            raise PerflabError(f"unknown value kind {kind!r} for {PREFIX}{name}")
        if kind == TRISTATE and text not in ("y", "m", "n"):
            raise PerflabError(f"{PREFIX}{name}: tristate value must be y, m or n, not {text!r}")
        if existing is None:
            entry = Symbol(name, text, kind)
            self._lines.append(entry)
            self._index[name] = entry
            return None
        old = existing.value
        if old != text or existing.kind != kind:
            existing.value, existing.kind, existing.raw = text, kind, None
        return old

    def remove(self, symbol: str) -> str | None:
        """Delete the assignment (the symbol then takes its Kconfig default); returns the old value."""
        name = canonical(symbol)
        entry = self._index.pop(name, None)
        if entry is None:
            return None
        self._lines.remove(entry)
        return entry.value

    def copy(self) -> KernelConfig:
        clone = KernelConfig(self.path)
        for line in self._lines:
            if isinstance(line, Symbol):
                dup = Symbol(line.name, line.value, line.kind, line.line, line.raw)
                clone._lines.append(dup)
                clone._index[dup.name] = dup
            else:
                clone._lines.append(line)
        return clone

    # -- writing -----------------------------------------------------------------------------
    def dumps(self) -> str:
        """The file text: unchanged lines byte for byte, changed ones re-rendered, new ones at the end."""
        parts = [line.text() if isinstance(line, Symbol) else line for line in self._lines]
        return "\n".join(parts) + "\n" if parts else ""

    def write(self, path: str | Path) -> None:
        """Write atomically (temp file in the same directory, fsync, rename): never half a file."""
        write_atomic(Path(path), self.dumps())


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file, nothing in between.

    A kernel config is the user's file, not perflab state: it keeps its mode (0644 when new), and bytes
    that are not UTF-8 survive the round trip (surrogateescape)."""
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    atomic_write(path, text.encode("utf-8", errors="surrogateescape"), mode=mode)


def read_config_text(path: Path, limit: int = CONFIG_LIMIT) -> str:
    """The text of a .config, gunzipped when it starts with gzip's magic; both sizes bounded by ``limit``."""
    data = read_bounded(path, limit=limit, what="kernel config")
    if data[:2] == _GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                data = handle.read(limit + 1)
        except (OSError, EOFError, zlib.error) as error:
            raise PerflabError(f"{path}: cannot read: bad gzip data: {error}") from error
        if len(data) > limit:
            raise PerflabError(f"{path}: decompresses to more than the {limit} bytes allowed for a "
                               "kernel config")
    return data.decode("utf-8", errors="surrogateescape")


def running_config(proc_config: Path = PROC_CONFIG, boot_dir: Path = Path("/boot"),
                   release: str | None = None) -> tuple[KernelConfig, str]:
    """The running kernel's config: /proc/config.gz, else /boot/config-$(uname -r)."""
    release = release or os.uname().release
    if proc_config.exists():
        return KernelConfig.load(proc_config), str(proc_config)
    boot = boot_dir / f"config-{release}"
    if boot.exists():
        return KernelConfig.load(boot), str(boot)
    raise PerflabError(f"no config for the running kernel {release}: neither {proc_config} "
                       f"(CONFIG_IKCONFIG_PROC) nor {boot} exists; pass --config FILE")
