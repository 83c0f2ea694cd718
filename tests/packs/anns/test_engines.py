"""Every built-in engine on seeded synthetic 10k × 32 data, in this process (no timing asserted).

The ``test`` extra installs the engines, so a missing one fails here instead of being skipped. HNSW
builds run single-threaded so each index, and therefore each recall figure, is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from perflab.packs.anns import datasets
from perflab.packs.anns.engines import BUILTIN
from perflab.packs.anns.engines.base import RUN_MODES, Settings
from perflab.packs.anns.groundtruth import ground_truth, recall
from perflab.packs.anns.measure import timed_queries
from perflab.packs.anns.plugin import describe, make_engine

K = 10


@pytest.fixture(scope="module")
def data() -> tuple[datasets.Dataset, object]:
    d = datasets.synthetic(10_000, 32, queries=200, seed=1)
    return d, ground_truth(d, K, None)


def _recalls(name: str, data: tuple, sweep: list) -> list[float]:
    d, truth = data
    engine = make_engine(name, d.metric, d.dim, Settings(build_threads=1))
    engine.build(d.train[:-50], len(d.train))
    if engine.supports_add:
        for i in range(len(d.train) - 50, len(d.train)):
            engine.add(d.train[i], i)
    else:
        engine = make_engine(name, d.metric, d.dim, Settings(build_threads=1))
        engine.build(d.train, len(d.train))
    out = []
    for value in sweep:
        engine.set_search_param(value)
        out.append(recall(d, truth, timed_queries(engine.search, d.test, K).ids, K))
    engine.close()
    return out


@pytest.mark.parametrize("name", list(BUILTIN))
def test_every_builtin_engine_is_installed_and_labelled(name: str) -> None:
    info = describe(name)
    assert info.installed, info.reason
    assert info.run_mode in RUN_MODES and info.version


@pytest.mark.parametrize("name", ["bruteforce", "faiss-flat"])
def test_flat_search_is_exact(name: str, data: tuple) -> None:
    assert _recalls(name, data, [None]) == [1.0]


@pytest.mark.parametrize(("name", "sweep"), [
    ("hnswlib", [2, 8, 64]), ("faiss-hnsw", [2, 8, 64]), ("usearch", [2, 8, 64]), ("voyager", [2, 8, 64]),
    ("faiss-ivf", [1, 4, 32]), ("annoy", [20, 200, 5000]),
])
def test_recall_rises_with_the_search_parameter(name: str, sweep: list, data: tuple) -> None:
    r = _recalls(name, data, sweep)
    assert r[0] < r[-1], r
    assert all(b >= a - 0.01 for a, b in zip(r, r[1:], strict=False)), r  # more effort never loses much
    assert r[-1] >= 0.95, r


def test_threaded_search_returns_the_same_ids(data: tuple) -> None:
    from perflab.packs.anns.measure import threaded_qps

    d, _ = data
    engine = make_engine("hnswlib", d.metric, d.dim, Settings(build_threads=1))
    engine.build(d.train, len(d.train))
    engine.set_search_param(32)
    seen: list[np.ndarray] = []
    qps = threaded_qps(lambda q, k: seen.append(engine.search(q, k)), d.test, K, 2)
    assert qps > 0 and len(seen) == len(d.test)
