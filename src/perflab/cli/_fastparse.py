"""Cheaper option parsing for the hot commands: typer builds a pydantic adapter for every parameter on
every call (~0.1 s for bench's options, plus ~0.06 s to import pydantic); plain values skip that."""

from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_UNHANDLED = object()


def _plain_value(annotation: Any, info: Any, value: Any) -> Any:
    """``value`` converted for the plain types bench declares, or _UNHANDLED for anything else."""
    optional = _optional_of(annotation)
    if optional is not None:  # ``str | None`` and the like: a given value is of the plain type
        return _UNHANDLED if value is None else _plain_value(optional, info, value)
    if annotation is bool:
        return value if isinstance(value, bool) else _UNHANDLED
    if annotation is str or annotation in (list[str], tuple[str, str, str]):
        if isinstance(value, str):
            return value if annotation is str else _UNHANDLED
        if annotation is str or not isinstance(value, list | tuple):
            return _UNHANDLED
        if not all(isinstance(v, str) for v in value):
            return _UNHANDLED
        if annotation == list[str]:
            return list(value)
        return tuple(value) if len(value) == 3 else _UNHANDLED
    if annotation is int:
        number = value if type(value) is int else (
            int(value) if isinstance(value, str) and _INT.fullmatch(value) else None)
    elif annotation is float:
        number = value if type(value) is float else (
            float(value) if isinstance(value, str) and _FLOAT.fullmatch(value) else None)
    else:
        return _UNHANDLED
    if number is None or getattr(info, "clamp", False):
        return _UNHANDLED
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if (low is not None and number < low) or (high is not None and number > high):
        return _UNHANDLED  # typer's own coercion raises its usual error
    return number


def _optional_of(annotation: Any) -> Any:
    """``T`` for ``T | None`` (or ``Optional[T]``) with T one of the plain scalar types, else None."""
    import types
    import typing

    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) == 1 and len(typing.get_args(annotation)) == 2 and args[0] in (str, int, float):
        return args[0]
    return None


def install_plain_coercion(params: list[Any]) -> None:
    """Skip typer's per-call pydantic adapters for plain parameters (a performance change only).

    This typer builds a pydantic TypeAdapter for every parameter on every call, given or not: ~0.1 s for
    bench's 35 options plus ~0.06 s to import pydantic. Values of the plain types bench declares (bool,
    str, int, float with min/max, list[str], a 3-tuple of str) are converted directly when they are in the
    canonical form; anything else goes to typer's own coercion, so results and error messages stay
    typer's. Relies on typer internals: with a typer whose internals differ in any way (a missing module, a
    changed dataclass shape, any exception while installing) this does nothing and typer parses as usual."""
    try:
        _install(params)
    except Exception:  # noqa: BLE001 - a speed-up only: any surprise leaves typer's own parsing in place
        return


def _install(params: list[Any]) -> None:
    from dataclasses import dataclass, fields

    from typer._coercion import RuntimeParam, build_runtime_param

    if {f.name for f in fields(RuntimeParam)} != {"parameter_info", "annotation"}:
        return  # another shape than the one this was written against: do not guess

    @dataclass(frozen=True)
    class _Plain(RuntimeParam):  # type: ignore[misc]
        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                out = _plain_value(self.annotation, self.parameter_info, value)
            except Exception:  # noqa: BLE001 - typer's own coercion decides (and words any error)
                out = _UNHANDLED
            if out is _UNHANDLED:
                return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)
            return out

    plain = []
    for param in params:
        desc = getattr(param, "type_descriptor", None)
        if desc is None or getattr(param, "_runtime_param", _UNHANDLED) is not None:
            continue
        if desc.file_annotation is not None or getattr(desc.parameter_info, "parser", None) is not None:
            continue
        # any other annotation: built only when a value is given (a missing one is None before this)
        plain.append((param, _Plain(parameter_info=desc.parameter_info, annotation=desc.annotation,
                                    descriptor=desc)))
    for param, runtime in plain:  # all or nothing
        param._runtime_param = runtime
