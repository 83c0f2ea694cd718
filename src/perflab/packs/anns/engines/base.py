"""What an engine is: the interface every built-in and plug-in engine implements, and the shared settings.

An engine is a class constructed with ``(metric, dim, settings)`` that offers ``build`` (batch insert of
ids 0..n-1), ``add`` (one vector, one id; optional), ``set_search_param``, ``search`` (one query → ids),
``save`` (bytes on disk, or None) and ``close``. Class attributes declare its name, how it runs
(:data:`RUN_MODES`), the name of its search parameter and whether it can add after build. See
docs/anns-plugins.md for the plug-in forms (Python class, external JSON-lines process).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

EMBEDDED = "embedded native library"
SERVER = "client of a server"
EMULATION = "emulation in Python"
EXTERNAL = "external process (JSON lines)"
RUN_MODES = (EMBEDDED, SERVER, EMULATION, EXTERNAL)


class EngineUnavailable(Exception):
    """The engine's library is not installed (or not importable); carries the reason."""


@dataclass
class Settings:
    """One documented parameter set, applied to every engine that has the parameter."""

    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    ef_sweep: list[int] = field(default_factory=lambda: [10, 16, 32, 64, 128, 256])
    ivf_nlist: int | None = None  # None: 2·√n rounded to a power of two (1024 for GloVe 400k)
    ivf_train_per_list: int = 128  # k-means trains on at most this many vectors per list (faiss: 256)
    nprobe_sweep: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64])
    annoy_trees: int = 50
    search_k_sweep: list[int] = field(default_factory=lambda: [1000, 3000, 10000, 30000])
    build_threads: int = 0  # 0: as many as the CPUs the run is pinned to
    seed: int = 0

    def nlist_for(self, n: int) -> int:
        if self.ivf_nlist:
            return self.ivf_nlist
        return max(1, min(n // 39, 2 ** round(math.log2(2 * math.sqrt(n)))))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class QueryCall:
    """How the harness's timed loop asks one query: the bare per-query call, its inputs prepared before the
    clock starts, and how the raw answers become an (nq, k) id matrix after it stops.

    Engines give the binding's own call here (``functools.partial`` of it) so the timed loop pays no
    Python frame of the wrapper and no conversion per query; benchmarks/anns_overhead.py measures the rest.
    """

    call: Callable[[Any], Any]
    inputs: Sequence[Any]
    to_ids: Callable[[list[Any]], np.ndarray]


def result_rows(results: Sequence[Any], k: int) -> np.ndarray:
    """Per-query id lists as an (nq, k) int64 matrix, -1 where an engine returned fewer than k ids."""
    try:
        ids = np.asarray(results, dtype=np.int64)
        if ids.ndim == 2 and ids.shape[1] == k:
            return ids
    except (ValueError, TypeError):
        pass  # ragged: some query got fewer than k
    out = np.full((len(results), k), -1, dtype=np.int64)
    for i, r in enumerate(results):
        got = np.asarray(r, dtype=np.int64).ravel()[:k]
        out[i, :len(got)] = got
    return out


def search_call(search: Callable[[np.ndarray, int], Any], queries: np.ndarray, k: int) -> QueryCall:
    """The generic QueryCall over an engine's ``search(vector, k)`` (plug-ins without ``query_call``)."""
    return QueryCall(lambda q: search(q, k), list(queries), lambda raws: result_rows(raws, k))


class Engine:
    """Base class for engines (plug-ins may subclass it or just have the same methods and attributes)."""

    name: ClassVar[str] = "engine"
    run_mode: ClassVar[str] = EMBEDDED
    search_param: ClassVar[str | None] = None  # e.g. "ef"; None when search has no knob
    supports_add: ClassVar[bool] = True  # can add vectors one by one after build
    algorithm: ClassVar[str] = ""

    def __init__(self, metric: str, dim: int, settings: Settings) -> None:
        self.metric = metric
        self.dim = dim
        self.settings = settings

    @classmethod
    def version(cls) -> str:
        """The library's version; raises EngineUnavailable when it cannot be imported."""
        return "n/a"

    def sweep(self) -> list[Any]:
        """The search parameter values to measure, from the shared settings."""
        return [None]

    def parameters(self) -> dict[str, Any]:
        """The build parameters in force, stated beside every result."""
        return {}

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        """Insert ``vectors`` as ids 0..n-1 in one batch; ``capacity`` vectors in all will be held."""
        raise NotImplementedError

    def add(self, vector: np.ndarray, ident: int) -> None:
        raise NotImplementedError

    def set_search_param(self, value: Any) -> None:
        """Set the search knob (ef, nprobe, search_k …) before a pass of queries."""

    def search(self, vector: np.ndarray, k: int) -> Any:
        raise NotImplementedError

    def query_call(self, queries: np.ndarray, k: int) -> QueryCall:
        """The timed loop's per-query call (after ``set_search_param``); by default ``search``."""
        return search_call(self.search, queries, k)

    def save(self, path: Path) -> int | None:
        """Write the index to ``path``; bytes on disk, or None when the engine has no on-disk form."""
        return None

    def close(self) -> None:
        """Release the index."""


def distribution_version(*names: str) -> str:
    """``name version`` of the first installed distribution among ``names`` (several ship one module)."""
    from importlib import metadata

    for name in names:
        try:
            return f"{name} {metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return "unknown version"


def file_bytes(path: Path) -> int:
    """Size of a saved index: a file, or every file under a directory."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
