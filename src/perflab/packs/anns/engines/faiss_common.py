"""What the faiss engines share: the import, the metric, thread control."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from perflab.packs.anns.engines.base import EngineUnavailable, QueryCall


def faiss_module() -> Any:
    try:
        import faiss
    except ImportError as error:
        raise EngineUnavailable(f"faiss is not installed ({error}): pip install 'perflab[anns]'") from None
    return faiss


def faiss_metric(faiss: Any, metric: str) -> int:
    return faiss.METRIC_INNER_PRODUCT if metric == "angular" else faiss.METRIC_L2


def faiss_version() -> str:
    return f"faiss-cpu {faiss_module().__version__}"


def faiss_query_call(index: Any, queries: np.ndarray, k: int) -> QueryCall:
    """``index.search`` on one (1, dim) row at a time; the rows are views made before the clock starts."""
    rows = list(queries.reshape(len(queries), 1, queries.shape[1]))
    return QueryCall(partial(index.search, k=k), rows, lambda raws: np.vstack([r[1] for r in raws]))
