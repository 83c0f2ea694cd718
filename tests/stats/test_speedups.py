"""Performance changes in perflab.stats that must not change any number: chunked resampling."""

from __future__ import annotations

import numpy as np
import pytest

from perflab.stats.bootstrap import bootstrap_ci, ratio_ci


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

