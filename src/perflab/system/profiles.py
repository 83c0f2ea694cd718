"""Tuning profiles: TOML files with ``include`` inheritance (as tuned's profiles), validated up front.

Format::

    description = "…"
    include = ["throughput"]          # or a string; later includes and this file override earlier ones
    [settings]
    "vm.swappiness" = 10              # knob = value spec (exact, ">=N", "a|b", "[madvise]", a list)
    net.ipv4.tcp_rmem = [4096, 131072, 16777216]

A profile naming an unknown knob or a malformed value is refused as ``file:line: reason`` before anything
is applied.

Trust: a profile is applied as root, so a name resolves to the *shipped* profile first; a local profile
(``./.perflab/profiles``, the user's config dir) is found by name only when no shipped one has it, or by
naming its file. A local profile owned by another user (not you, not root) or writable by group/others is
refused. Files are read with a size limit and values are bounded, so a hostile file gets one clear line.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perflab import fsutil
from perflab.errors import PerflabError
from perflab.system.knobs import get_knob, parse_spec

SHIPPED = Path(__file__).parent / "profiles"
PROFILE_LIMIT = 1 << 20  # bytes of one profile file (the shipped ones are < 2 KB)
VALUE_LIMIT = 4096  # characters of one value spec (the longest real knob value is a few dozen)


@dataclass
class Profile:
    name: str
    description: str
    settings: dict[str, str]
    source: list[Path] = field(default_factory=list)  # every file that contributed, includes first


def search_dirs(profile_file: str | Path | None = None) -> list[Path]:
    """Where profile names are looked up, in order: shipped profiles win over same-named local ones."""
    dirs = [SHIPPED]
    if profile_file is not None:
        dirs.append(Path(profile_file).parent)
    dirs.append(Path.cwd() / ".perflab" / "profiles")
    state = os.environ.get("PERFLAB_STATE_DIR")
    dirs.append(
        Path(state).parent / "profiles" if state else Path.home() / ".config" / "perflab" / "profiles"
    )
    return dirs


def list_profiles() -> dict[str, Path]:
    """Every profile name visible from here (shipped ones shadow local ones of the same name)."""
    found: dict[str, Path] = {}
    for directory in search_dirs():
        try:
            paths = sorted(directory.glob("*.toml")) if directory.is_dir() else []
        except OSError:
            continue
        for path in paths:
            found.setdefault(path.stem, path)
    return found


def _locate(name: str, dirs: list[Path], relative_to: Path | None) -> Path:
    candidate = Path(name)
    if name.endswith(".toml") or "/" in name:
        if not candidate.is_absolute() and relative_to is not None:
            candidate = relative_to / candidate
        if candidate.is_file():
            return candidate
        raise PerflabError(f"profile file {candidate} not found")
    local = [relative_to] if relative_to is not None else []  # an include's own directory comes first
    for directory in local + dirs:
        path = directory / f"{name}.toml"
        try:
            if path.is_file():
                return path
        except PermissionError:  # an unreadable search dir (another user's state dir) is skipped
            continue
    shown = ", ".join(str(d) for d in dirs)
    raise PerflabError(f"no profile {name!r} (looked in {shown}); `perflab system audit` lists knobs")


def load_profile(name_or_path: str | None = None, *, profile_file: str | Path | None = None) -> Profile:
    """Load a profile by name or path, resolving includes; PerflabError ``file:line: reason`` when invalid."""
    dirs = search_dirs(profile_file)
    if profile_file is not None:
        path = Path(profile_file)
        if not path.is_file():
            raise PerflabError(f"profile file {path} not found")
    elif name_or_path:
        path = _locate(name_or_path, dirs, None)
    else:
        raise PerflabError("name a profile or give --profile-file")
    try:
        settings, description, sources = _load(path.resolve(), dirs, [])
    except RecursionError:
        raise PerflabError(f"{path}: profile nested too deeply to be a profile") from None
    return Profile(name=path.stem, description=description, settings=settings, source=sources)


def _load(path: Path, dirs: list[Path], stack: list[Path]) -> tuple[dict[str, str], str, list[Path]]:
    if path in stack:
        chain = " → ".join(p.name for p in [*stack, path])
        raise PerflabError(f"{stack[-1]}:{_line_of(stack[-1], 'include')}: include cycle: {chain}")
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None) or _lineno_from_message(str(error), text)
        raise PerflabError(f"{path}:{line}: malformed TOML: {error}") from None
    except ValueError as error:  # tomllib's int() of a number with more than 4300 digits
        raise PerflabError(f"{path}: malformed TOML: {str(error).split(';')[0]}") from None
    unknown = set(data) - {"description", "include", "settings"}
    if unknown:
        key = sorted(unknown)[0]
        raise PerflabError(
            f"{path}:{_line_of(path, key, text)}: unknown top-level key {key!r} "
            "(expected description, include, [settings])"
        )
    includes = data.get("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise PerflabError(
            f"{path}:{_line_of(path, 'include', text)}: include must be a string or list of strings"
        )
    settings: dict[str, str] = {}
    sources: list[Path] = []
    for name in includes:
        included = _locate(name, dirs, path.parent).resolve()
        sub, _, sub_sources = _load(included, dirs, [*stack, path])
        settings.update(sub)
        sources.extend(s for s in sub_sources if s not in sources)
    raw = data.get("settings", {})
    if not isinstance(raw, dict):
        raise PerflabError(f"{path}:{_line_of(path, 'settings', text)}: settings must be a table")
    for key, value in _flatten(raw).items():
        name = _check(path, text, key, value)
        partner = getattr(get_knob(name), "partner", None)
        if partner is not None:  # dirty ratio/bytes: this file's member replaces an inherited partner
            settings.pop(partner, None)
        settings[name] = _spec_text(path, text, key, value)
    description = data.get("description", "")
    sources.append(path)
    return settings, str(description), sources


def _read(path: Path) -> str:
    """The text of a profile file we may trust (shipped, or owned by us or root and private to them)."""
    if SHIPPED not in path.parents:
        try:
            fsutil.check_file_stat(path, os.stat(path))
        except fsutil.UnsafePathError as error:
            raise PerflabError(f"refusing local profile: {error.message}") from None
        except OSError as error:
            raise PerflabError(f"{path}: cannot read profile: {error.strerror}") from None
    return fsutil.read_text_bounded(path, limit=PROFILE_LIMIT, what="profile")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _spec_text(path: Path, text: str, key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, list)):
        raise PerflabError(
            f"{path}:{_line_of(path, key, text)}: {key}: value must be a string, integer or "
            f"list of integers, not {type(value).__name__}"
        )
    if isinstance(value, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise PerflabError(f"{path}:{_line_of(path, key, text)}: {key}: a list value holds integers only")
        numbers = value
    else:
        numbers = [value] if isinstance(value, int) else []
    if any(abs(v) >= 10**40 for v in numbers):
        raise PerflabError(f"{path}:{_line_of(path, key, text)}: {key}: integer too large for a knob")
    spec = " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if len(spec) > VALUE_LIMIT:
        raise PerflabError(
            f"{path}:{_line_of(path, key, text)}: {key}: value of {len(spec)} characters, more than the "
            f"{VALUE_LIMIT} a knob value can be"
        )
    return spec


def _check(path: Path, text: str, key: str, value: Any) -> str:
    """The knob's canonical name; ``file:line`` error for an unknown knob or a malformed value."""
    line = _line_of(path, key, text)
    try:
        knob = get_knob(key)
        if isinstance(value, (str, int, list)) and not isinstance(value, bool):
            parse_spec(knob, _spec_text(path, text, key, value))
    except PerflabError as error:
        if error.message.startswith(str(path)):
            raise
        raise PerflabError(f"{path}:{line}: {error.message}") from None
    return knob.name


def _line_of(path: Path, key: str, text: str | None = None) -> int:
    """Best-effort line of ``key`` (tomllib reports positions only for syntax errors)."""
    if text is None:
        try:
            text = path.read_text()
        except OSError:
            return 1
    last = key.split(".")[-1]
    patterns = [
        rf'^\s*"?{re.escape(key)}"?\s*=',
        rf"^\s*\[{re.escape(key)}\]",
        rf'^\s*"?{re.escape(last)}"?\s*=',
    ]
    lines = text.splitlines()
    for pattern in patterns:
        for number, line in enumerate(lines, 1):
            if re.match(pattern, line):
                return number
    return 1


def _lineno_from_message(message: str, text: str) -> int:
    match = re.search(r"line (\d+)", message)
    if match:
        return int(match.group(1))
    return max(1, len(text.splitlines())) if "end of document" in message else 1
