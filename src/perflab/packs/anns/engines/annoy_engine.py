"""Annoy: random-projection trees, a static index (no insert after build), embedded C++."""

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


def _annoy_class() -> Any:
    try:
        from annoy import AnnoyIndex
    except ImportError as error:
        raise EngineUnavailable(f"annoy is not installed ({error}): pip install 'perflab[anns]'") from None
    return AnnoyIndex


class Annoy(Engine):
    name = "annoy"
    run_mode = EMBEDDED
    search_param = "search_k"
    supports_add = False  # annoy builds once; items added after build() are refused
    algorithm = "random projection forest"

    @classmethod
    def version(cls) -> str:
        _annoy_class()
        return distribution_version("annoy")

    def sweep(self) -> list[Any]:
        return list(self.settings.search_k_sweep)

    def parameters(self) -> dict[str, Any]:
        return {"n_trees": self.settings.annoy_trees,
                "metric": "angular" if self.metric == "angular" else "euclidean"}

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        self.index = _annoy_class()(self.dim, self.parameters()["metric"])
        self.index.set_seed(self.settings.seed)
        for i, v in enumerate(vectors):
            self.index.add_item(i, v)
        self.index.build(self.settings.annoy_trees, n_jobs=self.settings.build_threads)
        self.search_k = -1

    def set_search_param(self, value: Any) -> None:
        self.search_k = int(value)

    def search(self, vector: np.ndarray, k: int) -> list[int]:
        return self.index.get_nns_by_vector(vector, k, search_k=self.search_k)

    def query_call(self, queries: np.ndarray, k: int) -> QueryCall:
        return QueryCall(partial(self.index.get_nns_by_vector, n=k, search_k=self.search_k), list(queries),
                         lambda raws: result_rows(raws, k))

    def save(self, path: Path) -> int:
        self.index.save(str(path))
        return path.stat().st_size
