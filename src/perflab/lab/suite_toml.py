"""Typed access to a parsed TOML file whose every error names ``file:line`` and the key (tomllib gives
values, not positions: the line is found in the text, the table header first, then the key)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError


class TomlReader:
    """Typed access to the parsed TOML with errors that name file:line and the key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, where: tuple[Any, ...]) -> int:
        """Best line for a key path like ("benchmark", 2, "runs"): the table header, then the key."""
        line = 0
        table, index, key = (list(where) + [None, None, None])[:3]
        if isinstance(index, int):
            header = re.compile(rf"^\s*\[\[\s*{re.escape(str(table))}\s*\]\]")
            seen = -1
            for i, text in enumerate(self.lines):
                if header.match(text):
                    seen += 1
                    if seen == index:
                        line = i
                        break
        elif table is not None:
            dotted = str(table) if index is None else f"{table}.{index}"
            header = re.compile(rf"^\s*\[\s*{re.escape(dotted)}\s*\]")
            line = next((i for i, t in enumerate(self.lines) if header.match(t)), 0)
        name = key if isinstance(index, int) else index
        if name is not None:
            pattern = re.compile(rf"^\s*\"?{re.escape(str(name))}\"?\s*=")
            for i in range(line, len(self.lines)):
                if i > line and re.match(r"^\s*\[", self.lines[i]):
                    break
                if pattern.match(self.lines[i]):
                    return i + 1
        return line + 1

    def fail(self, where: tuple[Any, ...], reason: str) -> PerflabError:
        key = ".".join(str(w) if not isinstance(w, int) else f"[{w}]" for w in where).replace(".[", "[")
        return PerflabError(f"{self.path}:{self.line_of(where)}: {key}: {reason}")

    def table(self, data: Any, where: tuple[Any, ...], allowed: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, "expected a table")
        for key in data:
            if key not in allowed:
                raise self.fail((*where, key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return data

    def get(
        self,
        data: dict[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        where: tuple[Any, ...],
        default: Any = None,
    ) -> Any:
        if key not in data:
            return default
        value = data[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, float, (int, float)))
        if not ok:
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail((*where, key), f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def existing_path(
        self, data: dict[str, Any], key: str, where: tuple[Any, ...], base: Path, *, what: str = "file"
    ) -> str | None:
        """A path relative to the suite file's directory, resolved, that must exist as ``what`` (``"file"``,
        or ``"path"`` for a file or directory); None when the key is absent."""
        value = self.get(data, key, str, where)
        if value is None:
            return None
        resolved = (base / value).resolve()
        if not (resolved.is_file() if what == "file" else resolved.exists()):
            raise self.fail((*where, key), f"{resolved}: no such {what}")
        return str(resolved)

    def strings(self, data: dict[str, Any], key: str, where: tuple[Any, ...]) -> list[str] | None:
        value = self.get(data, key, list, where)
        if value is not None and not all(isinstance(v, str) for v in value):
            raise self.fail((*where, key), "expected a list of strings")
        return value

    def mapping(self, data: dict[str, Any], key: str, where: tuple[Any, ...]) -> dict[str, str]:
        value = self.get(data, key, dict, where, {})
        if not all(isinstance(v, str) for v in value.values()):
            raise self.fail((*where, key), 'expected string values (quote numbers: level = "9")')
        return dict(value)

    def positive(
        self,
        data: dict[str, Any],
        key: str,
        where: tuple[Any, ...],
        default: Any,
        *,
        minimum: float = 1,
        kind: type | tuple[type, ...] = int,
    ) -> Any:
        """A number of at least ``minimum`` (an int, or ``kind=(int, float)`` for seconds, fractions)."""
        value = self.get(data, key, kind, where, default)
        if value is not None and value < minimum:
            raise self.fail((*where, key), f"must be at least {minimum:g}")
        return value
