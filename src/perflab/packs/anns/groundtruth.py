"""Exact k-nearest neighbours by blocked numpy search, cached on disk by a hash of the data.

Recall is scored as ann-benchmarks does: a returned id counts when its true distance is within
``RECALL_EPSILON`` of the k-th true distance, so ties at the boundary do not punish an engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perflab.errors import PerflabError
from perflab.fsutil import ensure_private_dir
from perflab.packs.anns.datasets import Dataset

GT_MIN_K = 100  # computed at least this deep, so one cache entry serves every k up to it
BLOCK_BYTES = 64 << 20  # one block's distance matrix stays under this
RECALL_EPSILON = 1e-3
FILE_AGREEMENT_MIN = 0.99


@dataclass
class GroundTruth:
    ids: np.ndarray  # (nq, depth) int64, nearest first
    distances: np.ndarray  # (nq, depth) float32, same order
    cached: bool  # read from the cache instead of computed
    file_agreement: float | None = None  # mean overlap with the dataset file's own neighbours


def distances_to(data: Dataset, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Distance from each query row to each of its candidate ids (angular: 1 - cos on unit vectors)."""
    vecs = data.train[np.clip(candidates, 0, len(data.train) - 1)]
    if data.metric == "angular":
        return 1.0 - np.einsum("qd,qkd->qk", queries, vecs)
    return np.linalg.norm(vecs - queries[:, None, :], axis=2)


def exact_search(data: Dataset, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``depth`` ids and distances for every query, in query blocks that bound memory."""
    n = len(data.train)
    depth = min(depth, n)
    block = max(1, BLOCK_BYTES // (4 * n))
    ids = np.empty((len(data.test), depth), dtype=np.int64)
    dist = np.empty((len(data.test), depth), dtype=np.float32)
    sq_norms = None if data.metric == "angular" else np.einsum("nd,nd->n", data.train, data.train)
    for start in range(0, len(data.test), block):
        q = data.test[start:start + block]
        scores = q @ data.train.T  # (b, n)
        d = 1.0 - scores if sq_norms is None else sq_norms[None, :] - 2.0 * scores
        if depth < n:
            part = np.argpartition(d, depth - 1, axis=1)[:, :depth]
        else:
            part = np.tile(np.arange(n), (len(q), 1))
        part_d = np.take_along_axis(d, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        ids[start:start + len(q)] = np.take_along_axis(part, order, axis=1)
        dist[start:start + len(q)] = np.take_along_axis(part_d, order, axis=1)
    if sq_norms is not None:  # back from ||x||² - 2q·x to true euclidean distances
        qn = np.einsum("qd,qd->q", data.test, data.test)
        dist = np.sqrt(np.maximum(dist + qn[:, None], 0.0))
    return ids, dist


def _cache_file(cache_dir: Path, data: Dataset, depth: int) -> Path:
    return cache_dir / f"{data.digest()}-d{depth}.npz"


def ground_truth(data: Dataset, k: int, cache_dir: Path | None) -> GroundTruth:
    """Exact neighbours (cached under ``cache_dir`` when given), checked against the file's own if any."""
    if k < 1:
        raise PerflabError(f"k must be at least 1 (got {k})")
    if k > len(data.train):
        raise PerflabError(f"k={k} is larger than the {len(data.train)} base vectors of {data.name}")
    depth = min(max(k, GT_MIN_K), len(data.train))
    truth = None
    if cache_dir is not None:
        path = _cache_file(cache_dir, data, depth)
        if path.is_file():
            with np.load(path) as saved:
                truth = GroundTruth(saved["ids"], saved["distances"], cached=True)
    if truth is None:
        ids, dist = exact_search(data, depth)
        truth = GroundTruth(ids, dist, cached=False)
        if cache_dir is not None:
            ensure_private_dir(cache_dir)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, ids=ids, distances=dist)
            os.replace(tmp, path)
    if data.neighbors is not None:
        truth.file_agreement = _agreement(truth.ids, data.neighbors, k)
        if truth.file_agreement < FILE_AGREEMENT_MIN:
            raise PerflabError(
                f"{data.source}: the file's 'neighbors' agree with exact search on only "
                f"{truth.file_agreement:.3f} of the top {k} (need {FILE_AGREEMENT_MIN}); "
                "wrong metric or file?")
    return truth


def _agreement(ours: np.ndarray, theirs: np.ndarray, k: int) -> float:
    k = min(k, theirs.shape[1], ours.shape[1])
    hits = [len(set(a[:k].tolist()) & set(b[:k].tolist())) for a, b in zip(ours, theirs, strict=False)]
    return float(np.mean(hits)) / k


def recall(data: Dataset, truth: GroundTruth, found: np.ndarray, k: int) -> float:
    """Mean recall@k of ``found`` (nq, k) ids, -1 for a missing result; duplicates count once."""
    found = np.asarray(found, dtype=np.int64)[:, :k]
    valid = found >= 0
    dedup = np.zeros_like(valid)
    for i, row in enumerate(found):
        _, first = np.unique(row, return_index=True)
        dedup[i, first] = True
    d = distances_to(data, data.test, found)
    threshold = truth.distances[:, k - 1:k] + RECALL_EPSILON
    hits = valid & dedup & (d <= threshold)
    return float(hits.sum()) / (k * len(found))
