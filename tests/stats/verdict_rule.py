"""What a real-process test may always assert about a verdict: that it is the one docs/statistics.md's
rule gives for the p-value and CI printed with it (whatever the machine's load did to the timings)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from perflab.stats.compare import Comparison


def assert_verdict_follows_the_rule(result: Comparison | Mapping[str, Any]) -> None:
    """``result``: a Comparison, or its dict form in an analysis (``analyze()['comparisons'][i]``)."""
    get = result.get if isinstance(result, Mapping) else lambda key: getattr(result, key)
    verdict, (lo, hi) = get("verdict"), get("ratio_ci")
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        # no interval (too few runs, undefined ratio): nothing can be decided
        assert verdict == "inconclusive", result
        return
    assert lo <= hi, result
    band_lo, band_hi = 1.0 - get("noise"), 1.0 + get("noise")
    significant = get("p_adjusted") is not None and get("p_adjusted") < get("alpha")
    above, below = lo > band_hi, hi < band_lo
    better = above if get("higher_is_better") else below
    if verdict in ("faster", "slower"):
        assert significant and (above or below), result
        assert (verdict == "faster") == better, result
    elif verdict == "inconclusive":
        assert lo < band_lo and hi > band_hi, result
    else:
        assert verdict == "no significant change", result
        assert not (significant and (above or below)) and not (lo < band_lo and hi > band_hi), result
