"""Finding engines: built-in names, entry points (group ``perflab.anns_engines``), ``module:Class`` and
``exec:COMMAND`` (an external process speaking the JSON-lines protocol of docs/anns-plugins.md)."""

from __future__ import annotations

import importlib
import shlex
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from perflab.errors import PerflabError
from perflab.packs.anns.engines import BUILTIN
from perflab.packs.anns.engines.base import RUN_MODES, EngineUnavailable, Settings

ENTRY_POINT_GROUP = "perflab.anns_engines"
EXEC_PREFIX = "exec:"


@dataclass
class EngineInfo:
    """What ``perflab anns list`` shows for one engine, installed or not."""

    spec: str
    name: str
    origin: str  # built-in | entry point (dist) | module:Class | external process
    installed: bool
    version: str | None
    run_mode: str | None
    algorithm: str
    reason: str | None = None  # why it is not usable


def _import_target(target: str, spec: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise PerflabError(f"engine {spec!r}: use a built-in name, module:Class or exec:COMMAND")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise PerflabError(f"engine {spec!r}: cannot import {module_name}: {error}") from None
    try:
        cls = getattr(module, attr)
    except AttributeError:
        raise PerflabError(f"engine {spec!r}: {module_name} has no {attr}") from None
    missing = [m for m in ("build", "search") if not callable(getattr(cls, m, None))]
    if missing:
        raise PerflabError(f"engine {spec!r}: {attr} lacks {', '.join(missing)} (see docs/anns-plugins.md)")
    mode = getattr(cls, "run_mode", None)
    if mode not in RUN_MODES:
        raise PerflabError(f"engine {spec!r}: run_mode {mode!r} must be one of: {'; '.join(RUN_MODES)}")
    return cls


def entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_engine_class(spec: str) -> Any:
    """The engine class for a spec (exec: specs are made by make_engine)."""
    if spec in BUILTIN:
        return _import_target(BUILTIN[spec], spec)
    eps = entry_points()
    if spec in eps:
        return _import_target(eps[spec].value, spec)
    if ":" in spec:
        return _import_target(spec, spec)
    known = ", ".join([*BUILTIN, *eps])
    raise PerflabError(f"unknown engine {spec!r} (known: {known}; or module:Class, or exec:COMMAND)")


def make_engine(spec: str, metric: str, dim: int, settings: Settings) -> Any:
    """A ready engine object: the class constructed, or the external process started."""
    if spec.startswith(EXEC_PREFIX):
        from perflab.packs.anns.process_engine import ProcessEngine

        return ProcessEngine(exec_argv(spec), metric, dim, settings)
    return load_engine_class(spec)(metric, dim, settings)


def exec_argv(spec: str) -> list[str]:
    argv = shlex.split(spec[len(EXEC_PREFIX):])
    if not argv:
        raise PerflabError(f"engine {spec!r}: exec: needs a command")
    return argv


def describe(spec: str) -> EngineInfo:
    """Whether ``spec`` can run here, its version and run mode; never raises for a missing library."""
    if spec.startswith(EXEC_PREFIX):
        return EngineInfo(spec, spec, "external process", True, None, "declared by the process at start", "")
    origin = "built-in" if spec in BUILTIN else "entry point" if spec in entry_points() else "module:Class"
    try:
        cls = load_engine_class(spec)
        version = cls.version()
    except EngineUnavailable as error:
        return EngineInfo(spec, spec, origin, False, None, None, "", str(error))
    except PerflabError as error:
        return EngineInfo(spec, spec, origin, False, None, None, "", error.message)
    return EngineInfo(spec, getattr(cls, "name", spec), origin, True, version, cls.run_mode,
                      getattr(cls, "algorithm", ""))


def all_engines() -> list[EngineInfo]:
    return [describe(spec) for spec in [*BUILTIN, *entry_points()]]
