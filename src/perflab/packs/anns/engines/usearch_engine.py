"""USearch: HNSW in a header-only C++ library, embedded through its Python binding."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from perflab.packs.anns.engines.base import (
    EMBEDDED,
    Engine,
    EngineUnavailable,
    QueryCall,
    distribution_version,
    result_rows,
)


def _index_class() -> Any:
    try:
        from usearch.index import Index
    except ImportError as error:
        raise EngineUnavailable(f"usearch is not installed ({error}): pip install 'perflab[anns]'") from None
    return Index


class Usearch(Engine):
    name = "usearch"
    run_mode = EMBEDDED
    search_param = "expansion_search"
    algorithm = "HNSW"

    @classmethod
    def version(cls) -> str:
        _index_class()
        return distribution_version("usearch")

    def sweep(self) -> list[Any]:
        return list(self.settings.ef_sweep)

    def parameters(self) -> dict[str, Any]:
        return {"connectivity (M)": self.settings.hnsw_m,
                "expansion_add (efConstruction)": self.settings.hnsw_ef_construction,
                "metric": "ip" if self.metric == "angular" else "l2sq", "dtype": "f32"}

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        index_class = _index_class()
        self.index = index_class(ndim=self.dim, metric=self.parameters()["metric"], dtype="f32",
                                 connectivity=self.settings.hnsw_m,
                                 expansion_add=self.settings.hnsw_ef_construction)
        self.index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=self.settings.build_threads)

    def add(self, vector: np.ndarray, ident: int) -> None:
        self.index.add(ident, vector, threads=1)

    def set_search_param(self, value: Any) -> None:
        self.index.expansion_search = int(value)

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        return self.index.search(vector, k, threads=1).keys

    def query_call(self, queries: np.ndarray, k: int) -> QueryCall:
        return QueryCall(partial(self.index.search, count=k, threads=1), list(queries),
                         lambda raws: result_rows([m.keys for m in raws], k))

    def save(self, path: Path) -> int:
        self.index.save(str(path))
        return path.stat().st_size
