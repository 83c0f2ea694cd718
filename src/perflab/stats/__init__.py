"""Statistics for benchmark samples: pure functions on numpy arrays, no I/O, no CLI.

Importing this package imports numpy (and scipy lazily inside functions); CLI modules must import it
inside their command functions so ``perflab --help`` stays fast. See docs/statistics.md.
"""

from perflab.stats.bootstrap import bootstrap_ci, median_ci, ratio_ci
from perflab.stats.compare import Comparison, Verdict, compare, compare_many, holm_adjust
from perflab.stats.summary import Outliers, Summary, summarize

__all__ = [
    "Comparison",
    "Outliers",
    "Summary",
    "Verdict",
    "bootstrap_ci",
    "compare",
    "compare_many",
    "holm_adjust",
    "median_ci",
    "ratio_ci",
    "summarize",
]
