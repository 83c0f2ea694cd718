"""Input checking shared by the statistics modules.

Every public function accepts anything array-like; turning it into a clean 1-D float array in one place
keeps NaN/inf out of the maths, where they would silently poison medians and p-values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from perflab.errors import PerflabError

if TYPE_CHECKING:  # numpy.typing costs a CLI call ~5 ms of imports for two annotations
    import numpy.typing as npt

    ArrayLike = npt.ArrayLike | Iterable[float]
    Seed = int | np.random.Generator | np.random.SeedSequence | None


def as_samples(values: ArrayLike, name: str = "values") -> np.ndarray:
    """Return ``values`` as a 1-D float64 array; raise a clear error on NaN/inf or non-numbers."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PerflabError(f"statistics: {name} must be numbers ({exc})") from exc
    arr = arr.ravel()
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise PerflabError(f"statistics: {name}[{bad}] is {float(arr[bad])}; samples must be finite numbers")
    return arr


def check_confidence(confidence: float) -> float:
    """Reject confidence levels outside (0, 1), a common slip (95 instead of 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise PerflabError(f"statistics: confidence must be between 0 and 1 (got {confidence})")
    return float(confidence)


def rng_from(seed: Seed, *data: ArrayLike) -> np.random.Generator:
    """One seeding convention everywhere: int/SeedSequence/Generator → that stream; None → a seed derived
    from ``data`` (the samples being resampled), so the same inputs always give the same intervals and a
    re-run of ``compare`` on stored results prints the same figures. None without data → fresh entropy."""
    if seed is None and data:
        digest = hashlib.blake2b(digest_size=16)
        for values in data:
            arr = np.ascontiguousarray(as_samples(values))
            digest.update(arr.size.to_bytes(8, "little"))
            digest.update(arr.tobytes())
        seed = np.random.SeedSequence(int.from_bytes(digest.digest(), "little"))
    return np.random.default_rng(seed)
