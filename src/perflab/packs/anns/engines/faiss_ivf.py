"""faiss IndexIVFFlat: inverted lists over a k-means coarse quantiser (trained on the base vectors)."""

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


class FaissIvf(Engine):
    name = "faiss-ivf"
    run_mode = EMBEDDED
    search_param = "nprobe"
    algorithm = "IVF-Flat"

    @classmethod
    def version(cls) -> str:
        return faiss_version()

    def sweep(self) -> list[Any]:
        return list(self.settings.nprobe_sweep)

    def parameters(self) -> dict[str, Any]:
        return {"nlist": getattr(self, "nlist", "2·√n"),
                "k-means sample per list": self.settings.ivf_train_per_list}

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        faiss = faiss_module()
        faiss.omp_set_num_threads(self.settings.build_threads)
        self.nlist = self.settings.nlist_for(len(vectors))
        metric = faiss_metric(faiss, self.metric)
        quantizer = faiss.IndexFlat(self.dim, metric)
        self.index = faiss.IndexIVFFlat(quantizer, self.dim, self.nlist, metric)
        self.index.cp.seed = self.settings.seed
        self.index.cp.max_points_per_centroid = self.settings.ivf_train_per_list
        self.index.train(vectors)
        self.index.add(vectors)
        self.quantizer = quantizer  # the IVF index borrows it
        faiss.omp_set_num_threads(1)

    def add(self, vector: np.ndarray, ident: int) -> None:
        self.index.add(vector[None, :])

    def set_search_param(self, value: Any) -> None:
        self.index.nprobe = int(value)

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        _, ids = self.index.search(vector[None, :], k)
        return ids[0]

    def query_call(self, queries: np.ndarray, k: int) -> QueryCall:
        return faiss_query_call(self.index, queries, k)

    def save(self, path: Path) -> int:
        faiss_module().write_index(self.index, str(path))
        return path.stat().st_size
