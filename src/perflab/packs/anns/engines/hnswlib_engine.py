"""hnswlib (or chroma-hnswlib, which ships the same ``hnswlib`` module): HNSW as an embedded C++ library."""

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
)


def _module() -> Any:
    try:
        import hnswlib
    except ImportError as error:
        raise EngineUnavailable(f"hnswlib is not installed ({error}): pip install 'perflab[anns]'") from None
    return hnswlib


class Hnswlib(Engine):
    name = "hnswlib"
    run_mode = EMBEDDED
    search_param = "ef"
    algorithm = "HNSW"

    @classmethod
    def version(cls) -> str:
        _module()
        return distribution_version("hnswlib", "chroma-hnswlib")

    def sweep(self) -> list[Any]:
        return list(self.settings.ef_sweep)

    def parameters(self) -> dict[str, Any]:
        return {"M": self.settings.hnsw_m, "efConstruction": self.settings.hnsw_ef_construction,
                "space": "ip" if self.metric == "angular" else "l2"}

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        hnswlib = _module()
        self.index = hnswlib.Index(space=self.parameters()["space"], dim=self.dim)
        self.index.init_index(max_elements=capacity, ef_construction=self.settings.hnsw_ef_construction,
                              M=self.settings.hnsw_m, random_seed=self.settings.seed)
        self.index.add_items(vectors, np.arange(len(vectors)), num_threads=self.settings.build_threads)

    def add(self, vector: np.ndarray, ident: int) -> None:
        self.index.add_items(vector[None, :], [ident], num_threads=1)

    def set_search_param(self, value: Any) -> None:
        self.index.set_ef(int(value))

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        labels, _ = self.index.knn_query(vector, k=k, num_threads=1)
        return labels[0]

    def query_call(self, queries: np.ndarray, k: int) -> QueryCall:
        return QueryCall(partial(self.index.knn_query, k=k, num_threads=1), list(queries),
                         lambda raws: np.vstack([r[0] for r in raws]))

    def save(self, path: Path) -> int:
        self.index.save_index(str(path))
        return path.stat().st_size
