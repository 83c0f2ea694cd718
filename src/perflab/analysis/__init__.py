"""Pure functions on stored samples: which runs count, summaries, comparisons and verdicts (Holm),
warnings, and the suite-level figures. No files, no clock, no printing: ``report`` presents what this
package computes, ``lab`` sessions call it.

- ``samples``: the one rule for which runs count, and a metric's values over them.
- ``benchmark``: ``analyze`` (summaries + comparisons + warnings of one result) and ``compare_benchmarks``.
- ``warnings``: reasons to trust a figure less, each naming the value and the threshold.
"""
