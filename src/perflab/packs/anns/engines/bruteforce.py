"""Exact search in numpy: the reference every approximate engine is scored against, and always installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perflab.packs.anns.engines.base import EMULATION, Engine


class BruteForce(Engine):
    name = "bruteforce"
    run_mode = EMULATION
    algorithm = "flat (numpy matrix-vector product)"

    @classmethod
    def version(cls) -> str:
        return f"numpy {np.__version__}"

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        self.data = [np.array(vectors, dtype=np.float32)]
        self.extra: list[np.ndarray] = []
        self.sq = None

    def _matrix(self) -> np.ndarray:
        if self.extra:
            self.data = [np.vstack([*self.data, np.asarray(self.extra, dtype=np.float32)])]
            self.extra = []
            self.sq = None
        return self.data[0]

    def add(self, vector: np.ndarray, ident: int) -> None:
        self.extra.append(np.asarray(vector, dtype=np.float32))

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        x = self._matrix()
        scores = x @ vector
        if self.metric == "angular":
            d = -scores
        else:
            if self.sq is None:
                self.sq = np.einsum("nd,nd->n", x, x)
            d = self.sq - 2.0 * scores
        top = np.argpartition(d, k - 1)[:k] if k < len(d) else np.arange(len(d))
        return top[np.argsort(d[top], kind="stable")]

    def save(self, path: Path) -> int:
        with open(path, "wb") as f:
            np.save(f, self._matrix())
        return path.stat().st_size
