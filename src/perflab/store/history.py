"""One benchmark's samples across every stored result, read with two queries (not one per result), so
``perflab history`` stays fast on a store of 10^5 samples.

The queries are plain SQL text run either through SQLAlchemy (any store URL, or an open ``Store``) or,
for an existing SQLite file named by its URL, through the standard library's ``sqlite3`` opened read-only:
the same statements, without importing SQLAlchemy (about half of the whole command's time otherwise).
"""

from __future__ import annotations

import itertools
import json
import operator
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perflab.errors import PerflabError
from perflab.store.url import store_url

if TYPE_CHECKING:
    from perflab.store.db import Store

PER_CALL = "per_call_s"  # bench.inprocess.PER_CALL (the store does not import the engines)
#: metrics stored in their own column of ``runs`` (the rest are keys of its ``metrics`` JSON)
_COLUMN_METRICS = {"wall": "wall_ns", "user": "user_s", "sys": "sys_s", "peak_rss": "peak_rss_bytes"}
_NAMED = "(c.name = :name OR c.name LIKE :cell ESCAPE '\\' OR c.name LIKE :variant ESCAPE '\\')"
_COMMANDS_SQL = (
    "SELECT c.id, c.benchmark_id, c.name, c.parameters, c.metrics, b.created_at, b.kind, b.environment "
    f"FROM commands c JOIN benchmarks b ON b.id = c.benchmark_id WHERE {_NAMED}"
)
_COUNTED_RUNS = (
    "FROM runs r JOIN commands c ON c.id = r.command_id "
    f"WHERE {_NAMED} AND NOT r.timed_out AND r.signal IS NULL"
)
_RUNS_SQL = "SELECT r.command_id, r.{column} " + _COUNTED_RUNS + " ORDER BY r.command_id, r.sequence"
#: SQLite only: one row per command with its values as text, "1,2,3" (NULLs left out). Fetching 10^5
#: rows one by one is most of the command's time; one string per command is three times cheaper.
_RUNS_CONCAT_SQL = "SELECT r.command_id, group_concat(r.{column}) " + _COUNTED_RUNS + " GROUP BY r.command_id"
#: columns of integers, whose text form is exact (a REAL's text form in SQLite has 15 digits)
_INTEGER_COLUMNS = {"wall_ns", "peak_rss_bytes"}


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


def benchmark_series(source: Store | str | None, name: str, metric: str = "wall") -> list[SeriesPoint]:
    """Every stored cell named ``name`` (a plain benchmark's command, or a suite benchmark's cells), oldest
    first; only runs that count (not timed out, not killed) and that have the metric. For an in-process
    callable, ``wall`` is its per-call time. ``source``: an open Store, or a store URL (None: the
    default store)."""
    if source is None or isinstance(source, str):
        url = store_url(source)
        path = _sqlite_file(url)
        if path is not None:
            return _from_sqlite_file(path, url, name, metric)
        from perflab.store.db import Store

        with Store.open(url) as store:
            return _from_store(store, name, metric)
    return _from_store(source, name, metric)


def _sqlite_file(url: str) -> str | None:
    """The path of an existing SQLite file named by a plain ``sqlite:///PATH`` URL; None otherwise (a
    missing file is created by ``Store.open``, a URL with options goes through SQLAlchemy)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix):]
    return path if path and path != ":memory:" and os.path.isfile(path) else None


def _from_sqlite_file(path: str, url: str, name: str, metric: str) -> list[SeriesPoint]:
    import sqlite3
    from urllib.parse import quote

    try:
        conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.Error as error:
        raise PerflabError(f"cannot open the store {url}: {error}") from None
    try:
        return _series(lambda sql, params: conn.execute(sql, params).fetchall(), name, metric, concat=True)
    except sqlite3.Error as error:
        raise PerflabError(f"store {url}: cannot read the history of {name!r}: {error}") from None
    finally:
        conn.close()


def _from_store(store: Store, name: str, metric: str) -> list[SeriesPoint]:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with store.engine.connect() as conn:
            return _series(lambda sql, params: conn.execute(text(sql), params).all(), name, metric)
    except SQLAlchemyError as error:
        raise PerflabError(
            f"store {store.url}: cannot read the history of {name!r}: "
            f"{str(getattr(error, 'orig', None) or error).splitlines()[0]}"
        ) from None


def _json(value: Any) -> Any:
    """A JSON column as read by plain SQL: its text (a driver may already have decoded it)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _series(query: Any, name: str, metric: str, *, concat: bool = False) -> list[SeriesPoint]:
    """``query(sql, params)`` returns rows; the SQL text and named parameters suit both drivers.
    ``concat``: the driver is SQLite's, whose ``group_concat`` reads an integer column in one row per
    command (the values of a point then come in no particular order: every statistic of a point is
    order-free)."""
    params = {"name": name, "cell": f"{_escape(name)}[%", "variant": f"{_escape(name)}@%"}
    cmds = []
    for row in query(_COMMANDS_SQL, params):
        command_id, bench_id, command_name, parameters, specs, created_at, kind, environment = row
        parameters = _json(parameters)
        if _belongs(command_name, parameters, name):
            cmds.append((command_id, bench_id, parameters, _per_command_metric(_json(specs), metric),
                         created_at, kind, _json(environment)))
    if not cmds:
        return []
    wanted = {c[0]: c[3] for c in cmds}
    values: dict[int, list[float]] = {c[0]: [] for c in cmds}
    if metric in _COLUMN_METRICS and any(m == metric for m in wanted.values()):
        scale = 1e-9 if metric == "wall" else 1.0
        column = _COLUMN_METRICS[metric]
        if concat and column in _INTEGER_COLUMNS:
            for command_id, text in query(_RUNS_CONCAT_SQL.format(column=column), params):
                if wanted.get(command_id) == metric and text:
                    values[command_id] = _parse_integers(text, scale)
        else:
            rows = query(_RUNS_SQL.format(column=column), params)
            for command_id, group in itertools.groupby(rows, key=operator.itemgetter(0)):  # by command_id
                if wanted.get(command_id) == metric:
                    values[command_id] = [v * scale for _, v in group if v is not None]
    if any(m not in _COLUMN_METRICS for m in wanted.values()):
        for command_id, found in query(_RUNS_SQL.format(column="metrics"), params):
            key = wanted.get(command_id)
            if key is None or key in _COLUMN_METRICS:
                continue
            found = _json(found)
            if isinstance(found, dict) and key in found:
                values[command_id].append(float(found[key]))
    out = []
    for command_id, bench_id, parameters, _m, created_at, kind, environment in cmds:
        git = (environment or {}).get("git") or {}
        params_ = parameters or {}
        suite = kind == "suite"
        out.append(
            SeriesPoint(
                bench_id,
                created_at,
                kind,
                git.get("commit"),
                git.get("dirty"),
                str(params_.get("input", "-")) if suite else "-",
                str(params_.get("variant", "")) if suite else "",
                values[command_id],
            )
        )
    out.sort(key=lambda p: (p.created_at, p.benchmark_id))
    return out


def _parse_integers(text: str, scale: float) -> list[float]:
    """``"1,2,3"`` (SQLite's group_concat of an integer column) as floats times ``scale``; numpy parses
    10^5 values about twice as fast as ``float()`` one by one, and numpy is loaded for the analysis anyway."""
    import numpy as np

    return (np.array(text.split(","), dtype=np.int64) * scale).tolist()


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
