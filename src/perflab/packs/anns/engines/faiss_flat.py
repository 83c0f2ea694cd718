"""faiss IndexFlat: exact search in faiss's native code (a second exact reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perflab.packs.anns.engines.base import EMBEDDED, Engine, QueryCall
from perflab.packs.anns.engines.faiss_common import (
    faiss_metric,
    faiss_module,
    faiss_query_call,
    faiss_version,
)


class FaissFlat(Engine):
    name = "faiss-flat"
    run_mode = EMBEDDED
    algorithm = "flat"

    @classmethod
    def version(cls) -> str:
        return faiss_version()

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        faiss = faiss_module()
        faiss.omp_set_num_threads(self.settings.build_threads)
        self.index = faiss.IndexFlat(self.dim, faiss_metric(faiss, self.metric))
        self.index.add(vectors)
        faiss.omp_set_num_threads(1)

    def add(self, vector: np.ndarray, ident: int) -> None:
        self.index.add(vector[None, :])

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        _, ids = self.index.search(vector[None, :], k)
        return ids[0]

    def query_call(self, queries: np.ndarray, k: int) -> QueryCall:
        return faiss_query_call(self.index, queries, k)

    def save(self, path: Path) -> int:
        faiss_module().write_index(self.index, str(path))
        return path.stat().st_size
