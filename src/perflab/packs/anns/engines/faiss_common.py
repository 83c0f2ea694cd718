"""What the faiss engines share: the import, the metric, thread control."""

from __future__ import annotations

from typing import Any

from perflab.packs.anns.engines.base import EngineUnavailable


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
