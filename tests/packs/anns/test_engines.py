"""Every built-in engine on seeded synthetic 10k × 32 data, in this process (no timing asserted).

The ``test`` extra installs the engines, so a missing one fails here instead of being skipped. HNSW
builds run single-threaded so each index, and therefore each recall figure, is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from perflab.packs.anns import datasets
from perflab.packs.anns.engines import BUILTIN
from perflab.packs.anns.engines.base import RUN_MODES, QueryCall, Settings
from perflab.packs.anns.groundtruth import ground_truth, recall
from perflab.packs.anns.measure import query_call, threaded_qps, timed_queries
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
        out.append(recall(d, truth, timed_queries(query_call(engine, d.test, K)).ids, K))
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


def test_threaded_search_asks_every_query_once(data: tuple) -> None:
    d, _ = data
    engine = make_engine("hnswlib", d.metric, d.dim, Settings(build_threads=1))
    engine.build(d.train, len(d.train))
    engine.set_search_param(32)
    qc = query_call(engine, d.test, K)
    seen: list[int] = []
    counted = QueryCall(lambda q: seen.append(id(q)) or qc.call(q), qc.inputs, qc.to_ids)
    qps = threaded_qps(counted, 2)
    assert qps > 0 and sorted(seen) == sorted(id(q) for q in qc.inputs)


@pytest.mark.parametrize("name", [n for n in BUILTIN if n != "bruteforce"])
def test_the_timed_loops_call_answers_as_search_does(name: str, data: tuple) -> None:
    """Each engine's bare per-query call (the lean timed loop's) gives the ids its ``search`` gives."""
    d, _ = data
    engine = make_engine(name, d.metric, d.dim, Settings(build_threads=1))
    engine.build(d.train, len(d.train))
    engine.set_search_param(engine.sweep()[1] if len(engine.sweep()) > 1 else engine.sweep()[0])
    qpass = timed_queries(query_call(engine, d.test[:40], K))
    expected = np.array([np.asarray(engine.search(q, K), dtype=np.int64)[:K] for q in d.test[:40]])
    assert qpass.ids.shape == (40, K) and qpass.ids.dtype == np.int64
    assert np.array_equal(qpass.ids, expected)
    assert len(qpass.latencies_ns) == 40 and (qpass.latencies_ns >= 0).all()
    assert qpass.latencies_ns.sum() == qpass.wall_ns
    engine.close()


def test_a_plugin_with_only_search_is_timed_through_it(data: tuple) -> None:
    d, _ = data

    class OnlySearch:  # a plug-in that does not subclass Engine: no query_call
        def search(self, vector: np.ndarray, k: int) -> list[int]:
            return [int(vector[0] > 0)] * (k - 1)  # one id short: padded with -1

    qpass = timed_queries(query_call(OnlySearch(), d.test[:5], K))
    assert qpass.ids.shape == (5, K) and (qpass.ids[:, -1] == -1).all()
    assert set(qpass.ids[:, 0].tolist()) <= {0, 1}
