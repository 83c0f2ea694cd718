"""The built-in engines, one file each; looked up by name without importing their libraries."""

from __future__ import annotations

BUILTIN = {
    "bruteforce": "perflab.packs.anns.engines.bruteforce:BruteForce",
    "faiss-flat": "perflab.packs.anns.engines.faiss_flat:FaissFlat",
    "hnswlib": "perflab.packs.anns.engines.hnswlib_engine:Hnswlib",
    "faiss-hnsw": "perflab.packs.anns.engines.faiss_hnsw:FaissHnsw",
    "faiss-ivf": "perflab.packs.anns.engines.faiss_ivf:FaissIvf",
    "usearch": "perflab.packs.anns.engines.usearch_engine:Usearch",
    "annoy": "perflab.packs.anns.engines.annoy_engine:Annoy",
    "voyager": "perflab.packs.anns.engines.voyager_engine:Voyager",
}
DEFAULT_RUN = ("hnswlib", "faiss-hnsw", "faiss-ivf", "usearch", "annoy")
