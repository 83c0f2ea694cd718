"""Voyager (Spotify): HNSW in C++ (hnswlib-derived), embedded through its Python binding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from perflab.packs.anns.engines.base import EMBEDDED, Engine, EngineUnavailable, distribution_version


def _module() -> Any:
    try:
        import voyager
    except ImportError as error:
        raise EngineUnavailable(f"voyager is not installed ({error}): pip install 'perflab[anns]'") from None
    return voyager


class Voyager(Engine):
    name = "voyager"
    run_mode = EMBEDDED
    search_param = "query_ef"
    algorithm = "HNSW"

    @classmethod
    def version(cls) -> str:
        _module()
        return distribution_version("voyager")

    def sweep(self) -> list[Any]:
        return list(self.settings.ef_sweep)

    def parameters(self) -> dict[str, Any]:
        return {"M": self.settings.hnsw_m, "ef_construction": self.settings.hnsw_ef_construction,
                "space": "InnerProduct" if self.metric == "angular" else "Euclidean"}

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        voyager = _module()
        space = voyager.Space.InnerProduct if self.metric == "angular" else voyager.Space.Euclidean
        self.index = voyager.Index(space, num_dimensions=self.dim, M=self.settings.hnsw_m,
                                   ef_construction=self.settings.hnsw_ef_construction,
                                   random_seed=self.settings.seed, max_elements=capacity)
        self.index.add_items(vectors, list(range(len(vectors))), num_threads=self.settings.build_threads)
        self.ef = self.settings.ef_sweep[0]

    def add(self, vector: np.ndarray, ident: int) -> None:
        self.index.add_item(vector, ident)

    def set_search_param(self, value: Any) -> None:
        self.ef = int(value)

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        # voyager refuses ef < k; hnswlib and faiss search with max(ef, k) silently, so do the same
        ids, _ = self.index.query(vector, k, query_ef=max(self.ef, k))
        return ids

    def save(self, path: Path) -> int:
        self.index.save(str(path))
        return path.stat().st_size
