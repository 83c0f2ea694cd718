"""One benchmark's samples across every stored result, read with three queries (not one per result),
so ``perflab history`` stays fast on a store of 10^5 samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from perflab.errors import PerflabError
from perflab.store.db import Store
from perflab.store.schema import benchmarks as _b
from perflab.store.schema import commands as _c
from perflab.store.schema import runs as _r

PER_CALL = "per_call_s"  # bench.inprocess.PER_CALL (the store does not import the engines)
_COLUMN_METRICS = {
    "wall": _r.c.wall_ns,
    "user": _r.c.user_s,
    "sys": _r.c.sys_s,
    "peak_rss": _r.c.peak_rss_bytes,
}


@dataclass
class SeriesPoint:
    """The samples of one cell (a command, or a suite's benchmark × input × variant) in one result."""

    benchmark_id: int
    created_at: str
    kind: str
    commit: str | None
    dirty: bool | None
    input: str
    variant: str
    values: list[float] = field(default_factory=list)


def benchmark_series(store: Store, name: str, metric: str = "wall") -> list[SeriesPoint]:
    """Every stored cell named ``name`` (a plain benchmark's command, or a suite benchmark's cells), oldest
    first; only runs that count (not timed out, not killed) and that have the metric. For an in-process
    callable, ``wall`` is its per-call time."""
    try:
        return _series(store, name, metric)
    except SQLAlchemyError as error:
        raise PerflabError(
            f"store {store.url}: cannot read the history of {name!r}: "
            f"{str(getattr(error, 'orig', None) or error).splitlines()[0]}"
        ) from None


def _series(store: Store, name: str, metric: str) -> list[SeriesPoint]:
    with store.engine.connect() as conn:
        cmds = conn.execute(
            select(_c.c.id, _c.c.benchmark_id, _c.c.name, _c.c.parameters, _c.c.metrics).where(
                or_(
                    _c.c.name == name,
                    _c.c.name.like(f"{_escape(name)}[%", escape="\\"),
                    _c.c.name.like(f"{_escape(name)}@%", escape="\\"),
                )
            )
        ).all()
        cmds = [c for c in cmds if _belongs(c.name, c.parameters, name)]
        if not cmds:
            return []
        bench_ids = sorted({c.benchmark_id for c in cmds})
        heads = {
            row.id: row
            for row in conn.execute(
                select(_b.c.id, _b.c.created_at, _b.c.kind, _b.c.environment).where(_b.c.id.in_(bench_ids))
            )
        }
        wanted = {c.id: _per_command_metric(c.metrics, metric) for c in cmds}
        values: dict[int, list[float]] = {c.id: [] for c in cmds}
        by_column = [i for i, m in wanted.items() if m in _COLUMN_METRICS]
        by_json = [i for i, m in wanted.items() if m not in _COLUMN_METRICS]
        ok = (_r.c.timed_out.is_(False), _r.c.signal.is_(None))
        if by_column:
            column = _COLUMN_METRICS[metric]
            scale = 1e-9 if metric == "wall" else 1.0
            for command_id, value in conn.execute(
                select(_r.c.command_id, column)
                .where(_r.c.command_id.in_(by_column), *ok)
                .order_by(_r.c.command_id, _r.c.sequence)
            ):
                if value is not None:
                    values[command_id].append(value * scale)
        if by_json:
            for command_id, found in conn.execute(
                select(_r.c.command_id, _r.c.metrics)
                .where(_r.c.command_id.in_(by_json), *ok)
                .order_by(_r.c.command_id, _r.c.sequence)
            ):
                key = wanted[command_id]
                if isinstance(found, dict) and key in found:
                    values[command_id].append(float(found[key]))
    out = []
    for c in cmds:
        head = heads[c.benchmark_id]
        git = (head.environment or {}).get("git") or {}
        params = c.parameters or {}
        suite = head.kind == "suite"
        out.append(
            SeriesPoint(
                c.benchmark_id,
                head.created_at,
                head.kind,
                git.get("commit"),
                git.get("dirty"),
                str(params.get("input", "-")) if suite else "-",
                str(params.get("variant", "")) if suite else "",
                values[c.id],
            )
        )
    out.sort(key=lambda p: (p.created_at, p.benchmark_id))
    return out


def _per_command_metric(specs: Any, metric: str) -> str:
    """``wall`` of an in-process callable is its per-call time (a metric in the run's JSON)."""
    if metric == "wall" and isinstance(specs, list) and any(s.get("name") == PER_CALL for s in specs):
        return PER_CALL
    return metric


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _belongs(command_name: str, parameters: Any, name: str) -> bool:
    if command_name == name:
        return True
    return isinstance(parameters, dict) and parameters.get("benchmark") == name
