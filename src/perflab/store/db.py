"""The result store: SQLAlchemy Core over any URL, a private SQLite file by default.

SQLite is put in WAL mode with a busy timeout and every write transaction starts with
``BEGIN IMMEDIATE``, so two perflab processes saving at once queue instead of failing with
"database is locked". A benchmark is saved in one transaction: all of it or nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Text, create_engine, event, func, insert, inspect, select, type_coerce
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from perflab import fsutil
from perflab.errors import PerflabError
from perflab.store import schema as s
from perflab.store.model import Benchmark, CommandResult, MetricSpec, Run
from perflab.store.url import store_url

_b, _c, _r, _bl = s.benchmarks, s.commands, s.runs, s.baselines

BUSY_TIMEOUT_S = 30.0

class StoreWriteError(PerflabError):
    """A save failed (full disk, read-only or locked database): the caller may keep the data elsewhere."""


_BENCH_COLS = {"id", "created_at", "kind", "status", "message", "environment", "settings", "analysis",
               "order"}
_CMD_COLS = {"name", "command", "argv", "parameters", "warmup_runs", "metrics", "memory_note",
             "shell_spawn_s", "notes"}
_RUN_COLS = {"sequence", "wall_ns", "user_s", "sys_s", "exit_code", "signal", "timed_out",
             "peak_rss_bytes", "metrics", "block", "variant"}
#: the runs' columns as get() reads them: the JSON ones as text, parsed only when not empty
_RUN_SELECT = [type_coerce(col, Text).label(col.name) if col.name in ("metrics", "extra") else col
               for col in _r.c]


@dataclass
class Listing:
    """One line of ``perflab results``."""

    id: int
    created_at: str
    kind: str
    status: str
    commands: list[str]
    runs: int
    baselines: list[str]


def default_url() -> str:
    return store_url()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _prepare_sqlite_file(database: str) -> bool:
    """Create the parent directories (0700) and the file (0600) before SQLite does, whatever the umask;
    True when this call created the file (so a failed first open can remove it again)."""
    path = Path(database)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        fsutil.ensure_private_dir(parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return False
    os.fchmod(fd, 0o600)
    os.close(fd)
    return True


def _abandon(engine: Engine | None, created: str | None) -> None:
    """After a refused open: close the engine's connections; a 0-byte file this open created is not a
    store, remove it (with SQLite's -wal/-shm companions)."""
    if engine is not None:
        engine.dispose()
    if created is None:
        return
    with contextlib.suppress(OSError):
        if os.stat(created).st_size == 0:
            os.unlink(created)
            for suffix in ("-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    os.unlink(created + suffix)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's own is DEFERRED)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if database:  # not for in-memory databases
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store:
    """Benchmarks, their raw runs and named baselines in one database."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Open (creating on first use) the store at ``url``, ``$PERFLAB_DB`` or ./.perflab/perflab.db."""
        url = url or default_url()
        try:
            parsed = make_url(url)
        except ArgumentError as error:
            raise PerflabError(f"invalid database URL {url!r}: {error}") from None
        created: str | None = None
        engine: Engine | None = None
        try:
            if parsed.get_backend_name() == "sqlite":
                database = parsed.database if parsed.database not in (None, "", ":memory:") else None
                if database and _prepare_sqlite_file(database):
                    created = database
                engine = _sqlite_engine(url, database)
            else:
                engine = create_engine(url)
            store = cls(engine, url)
            store._create_schema()
        except PerflabError:
            _abandon(engine, created)
            raise
        except OSError as error:
            _abandon(engine, created)
            raise PerflabError(f"cannot create the store {url}: {error.strerror}: {error.filename}") from None
        except (SQLAlchemyError, UnicodeDecodeError, ValueError) as error:
            _abandon(engine, created)
            cause = getattr(error, "orig", None) or error  # the driver's one-line reason
            raise PerflabError(f"cannot open the store {url}: not a perflab store or damaged: "
                               f"{_one_line(cause)}") from None
        return store

    def _create_schema(self) -> None:
        with self.engine.begin() as conn:
            self._check_tables(conn)
            s.metadata.create_all(conn)
            current = conn.execute(select(func.max(s.schema_version.c.version))).scalar()
            if current is None:
                conn.execute(insert(s.schema_version).values(version=s.SCHEMA_VERSION, applied_at=_now()))
            elif not isinstance(current, int):
                raise PerflabError(f"store {self.url} is damaged: schema version {current!r}")
            elif current > s.SCHEMA_VERSION:
                raise PerflabError(
                    f"store {self.url} has schema version {current}, newer than this perflab "
                    f"understands ({s.SCHEMA_VERSION}); upgrade perflab"
                )

    def _check_tables(self, conn: Any) -> None:
        """Refuse a database that holds other tables (not ours) or ours without their columns, before
        anything is created in it."""
        inspector = inspect(conn)
        present = set(inspector.get_table_names())
        if present and s.schema_version.name not in present:
            shown = ", ".join(sorted(present)[:5])
            raise PerflabError(f"{self.url} is not a perflab store (it has tables {shown} and no "
                               f"{s.schema_version.name}); nothing was written to it")
        for table in s.metadata.sorted_tables:
            if table.name not in present:
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            missing = sorted(c.name for c in table.columns if c.name not in have)
            if missing:
                raise PerflabError(f"store {self.url} is damaged: table {table.name} lacks column(s) "
                                   f"{', '.join(missing)}")

    @contextlib.contextmanager
    def _reading(self, where: str) -> Iterator[None]:
        """Turn what a damaged database raises while reading into one line naming the place."""
        try:
            yield
        except PerflabError:
            raise
        except (SQLAlchemyError, ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
            cause = getattr(error, "orig", None) or error
            raise PerflabError(f"store {self.url} is damaged at {where}: {_one_line(cause)}") from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------------

    def save(self, benchmark: Benchmark, *, replace: int | None = None) -> int:
        """Persist a benchmark with all its runs in one transaction; sets and returns its id.

        ``replace``: the id of a partial save of this benchmark (see ``store.progressive``), whose row,
        commands and runs are replaced by the final ones in the same transaction."""
        data = dataclasses.asdict(benchmark)
        bench_row = {k: data[k] for k in _BENCH_COLS - {"id"}}
        bench_row["extra"] = {k: v for k, v in data.items() if k not in _BENCH_COLS | {"commands"}}
        try:
            with self.engine.begin() as conn:
                if replace is None:
                    bench_id = conn.execute(insert(_b).values(**bench_row)).inserted_primary_key[0]
                else:
                    bench_id = replace
                    conn.execute(_c.delete().where(_c.c.benchmark_id == replace))  # runs cascade
                    conn.execute(_b.update().where(_b.c.id == replace).values(**bench_row))
                for position, cmd in enumerate(data["commands"]):
                    cmd_id = self.insert_command(conn, bench_id, position, cmd)
                    self.insert_runs(conn, cmd_id, cmd["runs"])
        except (OperationalError, OSError) as error:
            raise StoreWriteError(f"could not save to {self.url}: {_one_line(getattr(error, 'orig', error))}"
                                  ) from None
        benchmark.id = int(bench_id)
        return benchmark.id

    @staticmethod
    def insert_command(conn: Any, bench_id: int, position: int, cmd: dict[str, Any]) -> int:
        """One ``commands`` row from a CommandResult's asdict(); its id."""
        row = {k: cmd[k] for k in _CMD_COLS}
        row["extra"] = {k: v for k, v in cmd.items() if k not in _CMD_COLS | {"runs"}}
        return int(conn.execute(
            insert(_c).values(benchmark_id=bench_id, position=position, **row)
        ).inserted_primary_key[0])

    @staticmethod
    def insert_runs(conn: Any, cmd_id: int, runs: list[dict[str, Any]]) -> None:
        """``runs`` rows (Runs as asdict()) of one command."""
        rows = []
        for run in runs:
            r = {k: run[k] for k in _RUN_COLS}
            r["extra"] = {k: v for k, v in run.items() if k not in _RUN_COLS}
            r["command_id"] = cmd_id
            rows.append(r)
        if rows:
            conn.execute(insert(_r), rows)

    def delete(self, benchmark_id: int) -> None:
        """Remove a benchmark with its commands and runs (a partial save that measured nothing)."""
        with self.engine.begin() as conn:
            conn.execute(_b.delete().where(_b.c.id == benchmark_id))

    def set_baseline(self, name: str, benchmark_id: int) -> None:
        """Point baseline ``name`` at a stored benchmark (replacing an older one of that name)."""
        if not name or name.isdigit():
            raise PerflabError(f"baseline name {name!r} must be non-empty and not a plain number")
        with self.engine.begin() as conn:
            if conn.execute(select(_b.c.id).where(_b.c.id == benchmark_id)).first() is None:
                raise PerflabError(f"no benchmark with id {benchmark_id} in {self.url}")
            conn.execute(_bl.delete().where(_bl.c.name == name))
            conn.execute(insert(_bl).values(name=name, benchmark_id=benchmark_id, updated_at=_now()))

    # -- reading -------------------------------------------------------------------------------------

    def get(self, benchmark_id: int) -> Benchmark:
        with self._reading(f"benchmark #{benchmark_id}"):
            return self._get(benchmark_id)

    def _get(self, benchmark_id: int) -> Benchmark:
        with self.engine.connect() as conn:
            row = conn.execute(select(_b).where(_b.c.id == benchmark_id)).mappings().first()
            if row is None:
                raise PerflabError(f"no benchmark with id {benchmark_id} in {self.url} (see perflab results)")
            cmd_rows = conn.execute(
                select(_c).where(_c.c.benchmark_id == benchmark_id).order_by(_c.c.position)
            ).mappings().all()
            runs_of: dict[int, list[Run]] = {c["id"]: [] for c in cmd_rows}
            if runs_of:  # one query for all commands' runs, not one per command
                for r in conn.execute(
                    select(*_RUN_SELECT).where(_r.c.command_id.in_(list(runs_of)))
                    .order_by(_r.c.sequence, _r.c.id)
                ).mappings():
                    runs_of[r["command_id"]].append(_run_of(r))
            commands = []
            for c in cmd_rows:
                runs = runs_of[c["id"]]
                fields = _known(CommandResult, {**(c["extra"] or {}), **{k: c[k] for k in _CMD_COLS}})
                fields["metrics"] = [MetricSpec(**m) for m in fields.get("metrics", [])]
                commands.append(CommandResult(runs=runs, **fields))
        fields = _known(Benchmark, {**(row["extra"] or {}), **{k: row[k] for k in _BENCH_COLS}})
        return Benchmark(commands=commands, **fields)

    def list(self, limit: int = 50) -> list[Listing]:
        """Newest first."""
        with self._reading("the list of benchmarks"):
            return self._list(limit)

    def _list(self, limit: int) -> list[Listing]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_b.c.id, _b.c.created_at, _b.c.kind, _b.c.status)
                .order_by(_b.c.id.desc())
                .limit(limit)
            ).all()
            ids = [r.id for r in rows]
            names: dict[int, list[str]] = {i: [] for i in ids}
            counts: dict[int, int] = dict.fromkeys(ids, 0)
            bases: dict[int, list[str]] = {i: [] for i in ids}
            if ids:
                for r in conn.execute(
                    select(_c.c.benchmark_id, _c.c.name, func.count(_r.c.id))
                    .select_from(_c.outerjoin(_r, _r.c.command_id == _c.c.id))
                    .where(_c.c.benchmark_id.in_(ids))
                    .group_by(_c.c.id)
                    .order_by(_c.c.benchmark_id, _c.c.position)
                ):
                    names[r[0]].append(r[1])
                    counts[r[0]] += r[2]
                for r in conn.execute(select(_bl).where(_bl.c.benchmark_id.in_(ids))):
                    bases[r.benchmark_id].append(r.name)
        return [Listing(r.id, r.created_at, r.kind, r.status, names[r.id], counts[r.id], sorted(bases[r.id]))
                for r in rows]

    def imports_of(self, sha256: str) -> list[int]:
        """Ids of stored imports of a file with these bytes (``settings["source_sha256"]``)."""
        with self._reading("the imported benchmarks"), self.engine.connect() as conn:
            rows = conn.execute(select(_b.c.id, _b.c.settings).where(_b.c.kind == "import")
                                .order_by(_b.c.id)).all()
        return [r.id for r in rows if (r.settings or {}).get("source_sha256") == sha256]

    def baselines(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {r.name: r.benchmark_id for r in conn.execute(select(_bl))}

    def baseline(self, name: str) -> Benchmark:
        with self.engine.connect() as conn:
            bench_id = conn.execute(select(_bl.c.benchmark_id).where(_bl.c.name == name)).scalar()
        if bench_id is None:
            known = ", ".join(sorted(self.baselines())) or "none saved yet"
            raise PerflabError(f"no baseline named {name!r} in {self.url} (known: {known})")
        return self.get(bench_id)

    def resolve(self, ref: str | int) -> Benchmark:
        """An id, a baseline name, or a JSON file (perflab's own or hyperfine's), in that order."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return self.get(int(ref))
        path = Path(ref)
        if ref.endswith(".json") or path.is_file():
            from perflab.store.jsonio import load_result_file

            return load_result_file(path)
        with self.engine.connect() as conn:
            bench_id = conn.execute(select(_bl.c.benchmark_id).where(_bl.c.name == ref)).scalar()
        if bench_id is not None:
            return self.get(bench_id)
        raise PerflabError(f"{ref!r} is neither a benchmark id, a baseline name nor a JSON file")


def _one_line(error: object) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


@functools.cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


def _json_column(value: Any) -> Any:
    """A run's JSON column read as text: almost always ``{}``, which needs no JSON parser (100k runs
    took a second of json.loads). Drivers that decode JSON themselves hand over the value as is."""
    if value is None or value == "{}":
        return {}
    return json.loads(value) if isinstance(value, str) else value


@functools.lru_cache(maxsize=256)
def _extra_fields(text: str) -> tuple[tuple[str, Any], ...]:
    """A run's ``extra`` JSON (e.g. ``{"left_running": 0}``, the same text for most runs) parsed once per
    distinct text, as the Run fields it holds that are not columns; a newer perflab's unknown keys are
    dropped."""
    data = json.loads(text)
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise ValueError(f"extra is {type(data).__name__}, not an object")
    names = _field_names(Run) - _RUN_COLS
    return tuple((k, v) for k, v in data.items() if k in names)


def _run_of(row: Any) -> Run:
    """One stored run (columns win over ``extra``, as when it was saved)."""
    extra = row["extra"]
    fields = dict(_extra_fields(extra)) if isinstance(extra, str) and extra != "{}" else (
        {k: v for k, v in extra.items() if k in _field_names(Run) - _RUN_COLS} if isinstance(extra, dict)
        else {})
    return Run(sequence=row["sequence"], wall_ns=row["wall_ns"], user_s=row["user_s"], sys_s=row["sys_s"],
               exit_code=row["exit_code"], signal=row["signal"], timed_out=row["timed_out"],
               peak_rss_bytes=row["peak_rss_bytes"], metrics=_json_column(row["metrics"]), block=row["block"],
               variant=row["variant"], **fields)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Keep the keys the dataclass knows: extras written by a newer perflab are ignored, not fatal.
    (Called once per stored run: the field names are computed once per class, not per run.)"""
    names = _field_names(cls)
    return {k: v for k, v in data.items() if k in names}
