"""/proc/crypto: which drivers the kernel registered per algorithm, and which one it would pick.

The kernel's crypto API resolves an algorithm name (``sha256``) to the registered driver with the
highest priority that is not internal and passed its self-test; knowing that driver is the only way
to tell whether a machine hashes with SHA-NI or with C code, whatever the config says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from perflab.errors import PerflabError
from perflab.fsutil import read_bounded

PROC_CRYPTO = Path("/proc/crypto")


@dataclass
class CryptoDriver:
    """One /proc/crypto block."""

    name: str  # the algorithm (``cbc(aes)``)
    driver: str  # the implementation (``cbc(ecb(aes-fixed-time))``)
    module: str
    priority: int
    type: str
    selftest: str = "unknown"  # "passed", "unknown" (self-tests compiled out) or "failed"
    internal: bool = False
    fields: dict[str, str] = field(default_factory=dict)  # the remaining ``key : value`` lines
    line: int = 0  # first line of the block, for messages

    @property
    def usable(self) -> bool:
        """Whether the API would hand this driver to a caller asking for ``name``."""
        return not self.internal and self.selftest != "failed"

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "driver": self.driver, "module": self.module, "priority": self.priority,
                "type": self.type, "selftest": self.selftest, "internal": self.internal}


_REQUIRED = ("name", "driver", "module", "priority", "type")


def _block(pairs: dict[str, str], label: str, line: int, lines: dict[str, int]) -> CryptoDriver:
    missing = [key for key in _REQUIRED if key not in pairs]
    if missing:
        raise PerflabError(f"{label}:{line}: crypto entry without {', '.join(missing)}")
    try:
        priority = int(pairs["priority"])
    except ValueError as error:
        where = lines.get("priority", line)
        raise PerflabError(f"{label}:{where}: priority {pairs['priority']!r} is not an integer") from error
    rest = {k: v for k, v in pairs.items() if k not in (*_REQUIRED, "selftest", "internal")}
    return CryptoDriver(name=pairs["name"], driver=pairs["driver"], module=pairs["module"], priority=priority,
                        type=pairs["type"], selftest=pairs.get("selftest", "unknown"),
                        internal=pairs.get("internal", "no") == "yes", fields=rest, line=line)


def parse_proc_crypto(text: str, label: str = str(PROC_CRYPTO)) -> list[CryptoDriver]:
    """Parse the blank-line separated ``key : value`` blocks of /proc/crypto."""
    drivers: list[CryptoDriver] = []
    pairs: dict[str, str] = {}
    lines: dict[str, int] = {}
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line:
            if pairs:
                drivers.append(_block(pairs, label, start, lines))
                pairs, lines = {}, {}
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise PerflabError(f"{label}:{number}: expected 'key : value', got {line!r}")
        if not pairs:
            start = number
        pairs[key.strip()] = value.strip()
        lines[key.strip()] = number
    if pairs:
        drivers.append(_block(pairs, label, start, lines))
    return drivers


def read_proc_crypto(path: Path = PROC_CRYPTO) -> list[CryptoDriver]:
    text = read_bounded(path, what="/proc/crypto copy").decode("utf-8", errors="replace")
    return parse_proc_crypto(text, str(path))


def drivers_for(drivers: list[CryptoDriver], algorithm: str) -> list[CryptoDriver]:
    """All usable drivers registered for ``algorithm``, best (highest priority) first."""
    found = [d for d in drivers if d.name == algorithm and d.usable]
    return sorted(found, key=lambda d: d.priority, reverse=True)


def active_driver(drivers: list[CryptoDriver], algorithm: str) -> CryptoDriver | None:
    """The driver the crypto API would choose for ``algorithm`` now (None: not registered yet).

    Template instances such as ``xts(aes)`` appear only after first use, so None does not mean the
    kernel cannot do it.
    """
    found = drivers_for(drivers, algorithm)
    return found[0] if found else None
