"""Performance changes in perflab.stats that must not change any number: chunked resampling, and the
cheap median interval offered for secondary figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perflab.errors import PerflabError
from perflab.stats.bootstrap import bootstrap_ci, median_ci_order_statistics, ratio_ci
from perflab.stats.summary import summarize


@pytest.mark.parametrize("n", [3, 20, 201, 999, 5000])
def test_chunking_does_not_change_the_intervals(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Resampling in cache-sized chunks is a speed-up only: numpy draws the same stream either way."""
    import perflab.stats.bootstrap as bootstrap

    x = np.random.default_rng(n).lognormal(size=n)
    chunk = bootstrap._CHUNK_ELEMENTS
    chunked = [bootstrap_ci(x, stat, seed=11) for stat in (np.median, np.mean)]
    chunked.append(ratio_ci(x, x * 1.1, seed=12))
    monkeypatch.setattr(bootstrap, "_CHUNK_ELEMENTS", 10**9)  # one matrix for everything
    whole = [bootstrap_ci(x, stat, seed=11) for stat in (np.median, np.mean)]
    whole.append(ratio_ci(x, x * 1.1, seed=12))
    assert chunked == whole
    assert n * 2000 > chunk or n < 100  # the large cases really were chunked


def test_order_statistic_median_ci_option() -> None:
    """Same numbers except the median's interval, which is the distribution-free order-statistic one;
    undefined (with a note) when n is too small for it."""
    x = np.random.default_rng(8).lognormal(0.0, 0.4, 150)
    full = summarize(x, seed=2)
    cheap = summarize(x, seed=2, median_ci_method="order")
    assert cheap.median_ci == median_ci_order_statistics(x) and cheap.median_ci != full.median_ci
    assert cheap.median_ci[0] < cheap.median < cheap.median_ci[1]
    assert cheap.mean_ci[0] < cheap.mean < cheap.mean_ci[1]
    assert (cheap.mean, cheap.median, cheap.outliers) == (full.mean, full.median, full.outliers)
    few = summarize([1.0, 2.0, 3.0, 4.0], median_ci_method="order")
    assert math.isnan(few.median_ci[0]) and any("order-statistic" in n for n in few.notes)
    assert not math.isnan(few.mean_ci[0])
    with pytest.raises(PerflabError, match="median_ci_method"):
        summarize(x, median_ci_method="magic")  # type: ignore[arg-type]
