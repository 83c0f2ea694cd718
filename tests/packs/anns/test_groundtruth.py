"""Exact search against a plain argsort, the on-disk cache, HDF5 input and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from perflab.errors import PerflabError
from perflab.packs.anns import datasets, groundtruth
from perflab.packs.anns.groundtruth import exact_search, ground_truth, recall


@pytest.mark.parametrize("metric", ["euclidean", "angular"])
def test_blocked_exact_search_matches_a_full_argsort(metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(groundtruth, "BLOCK_BYTES", 4 * 3000 * 7)  # 7 queries per block: several blocks
    d = datasets.synthetic(3000, 16, queries=50, seed=3, metric=metric)
    ids, dist = exact_search(d, 20)
    if metric == "angular":
        full = 1.0 - d.test @ d.train.T
    else:
        full = np.linalg.norm(d.test[:, None, :] - d.train[None, :, :], axis=2)
    expect = np.argsort(full, axis=1, kind="stable")[:, :20]
    np.testing.assert_allclose(dist, np.take_along_axis(full, expect, axis=1), rtol=1e-4, atol=1e-4)
    assert np.mean(ids == expect) > 0.99  # identical up to float ties
    assert recall(d, ground_truth(d, 10, None), ids[:, :10], 10) == 1.0


def test_ground_truth_is_cached_by_data_hash(tmp_path: Path) -> None:
    d = datasets.synthetic(2000, 8, queries=20, seed=4)
    first = ground_truth(d, 10, tmp_path)
    second = ground_truth(d, 10, tmp_path)
    assert not first.cached and second.cached
    np.testing.assert_array_equal(first.ids, second.ids)
    other = datasets.synthetic(2000, 8, queries=20, seed=5)
    assert not ground_truth(other, 10, tmp_path).cached


def _write_hdf5(path: Path, d: datasets.Dataset, neighbors: np.ndarray, distance: str) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["distance"] = distance
        f["train"], f["test"], f["neighbors"] = d.train, d.test, neighbors


def test_hdf5_set_is_read_and_its_neighbors_checked(tmp_path: Path) -> None:
    d = datasets.synthetic(2000, 8, queries=20, seed=6)
    ids, _ = exact_search(d, 100)
    good = tmp_path / "good.hdf5"
    _write_hdf5(good, d, ids, "euclidean")
    loaded = datasets.resolve(str(good))
    truth = ground_truth(loaded, 10, None)
    assert loaded.metric == "euclidean" and truth.file_agreement == 1.0
    bad = tmp_path / "bad.hdf5"
    _write_hdf5(bad, d, ids[::-1], "euclidean")  # neighbours of other queries
    with pytest.raises(PerflabError, match="agree with exact search"):
        ground_truth(datasets.resolve(str(bad)), 10, None)


def test_bad_dataset_input_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PerflabError, match="unknown dataset"):
        datasets.resolve("nonsense")
    with pytest.raises(PerflabError, match="no such dataset file"):
        datasets.resolve(str(tmp_path / "missing.hdf5"))
    junk = tmp_path / "junk.hdf5"
    junk.write_text("not hdf5")
    with pytest.raises(PerflabError, match="not a readable HDF5"):
        datasets.resolve(str(junk))
    with pytest.raises(PerflabError, match="larger than"):
        ground_truth(datasets.synthetic(5, 4, queries=2), 10, None)
