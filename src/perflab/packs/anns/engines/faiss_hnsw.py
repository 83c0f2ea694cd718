"""faiss IndexHNSWFlat: HNSW in faiss's native code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from perflab.packs.anns.engines.base import EMBEDDED, Engine, QueryCall
from perflab.packs.anns.engines.faiss_common import (
    faiss_metric,
    faiss_module,
    faiss_query_call,
    faiss_version,
)


class FaissHnsw(Engine):
    name = "faiss-hnsw"
    run_mode = EMBEDDED
    search_param = "efSearch"
    algorithm = "HNSW"

    @classmethod
    def version(cls) -> str:
        return faiss_version()

    def sweep(self) -> list[Any]:
        return list(self.settings.ef_sweep)

    def parameters(self) -> dict[str, Any]:
        return {"M": self.settings.hnsw_m, "efConstruction": self.settings.hnsw_ef_construction}

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        faiss = faiss_module()
        faiss.omp_set_num_threads(self.settings.build_threads)
        self.index = faiss.IndexHNSWFlat(self.dim, self.settings.hnsw_m, faiss_metric(faiss, self.metric))
        self.index.hnsw.efConstruction = self.settings.hnsw_ef_construction
        self.index.add(vectors)
        faiss.omp_set_num_threads(1)

    def add(self, vector: np.ndarray, ident: int) -> None:
        self.index.add(vector[None, :])

    def set_search_param(self, value: Any) -> None:
        self.index.hnsw.efSearch = int(value)

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        _, ids = self.index.search(vector[None, :], k)
        return ids[0]

    def query_call(self, queries: np.ndarray, k: int) -> QueryCall:
        return faiss_query_call(self.index, queries, k)

    def save(self, path: Path) -> int:
        faiss_module().write_index(self.index, str(path))
        return path.stat().st_size
