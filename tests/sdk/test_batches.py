"""``ArtifactHandle.batches``: npy artifacts stream from a memory map, npz ones per array or
as dicts of aligned slices; anything else is refused with the artifact's name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from edgewhisk import ArtifactError, ArtifactHandle


def handle(path: Path, format: str | None = None) -> ArtifactHandle:
    return ArtifactHandle("data", "readings", "u1/readings", lambda: path, format)


def test_npy_batches_are_slices_of_a_memory_map(tmp_path: Path) -> None:
    data = np.arange(25 * 3, dtype=np.float32).reshape(25, 3)
    np.save(tmp_path / "r.npy", data)
    batches = list(handle(tmp_path / "r.npy", "npy").batches(10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert all(isinstance(b, np.memmap) for b in batches)  # never read whole
    assert np.array_equal(np.concatenate(batches), data)


def test_npz_batches_one_array_or_all_aligned(tmp_path: Path) -> None:
    x, y = np.ones((7, 2)), np.arange(7)
    np.savez(tmp_path / "r.npz", x=x, y=y, z=np.zeros(3))
    artifact = handle(tmp_path / "r.npz", "npz")
    assert [len(b) for b in artifact.batches(3, key="y")] == [3, 3, 1]
    with pytest.raises(ArtifactError, match="arrays differ in rows"):
        list(artifact.batches(3))
    np.savez(tmp_path / "s.npz", x=x, y=y)
    joined = list(handle(tmp_path / "s.npz", "npz").batches(4))
    assert [sorted(b) for b in joined] == [["x", "y"], ["x", "y"]]
    assert np.array_equal(np.concatenate([b["y"] for b in joined]), y)


@pytest.mark.parametrize("call, words", [
    (lambda a: a.batches(0), "positive integer"),
    (lambda a: a.batches(2, key="x"), "key= is for npz"),
    (lambda a: a.batches(True), "positive integer"),
], ids=["a batch size of zero", "a key on an npy array", "a boolean batch size"])
def test_bad_batch_requests_name_the_artifact(call, words: str, tmp_path: Path) -> None:
    np.save(tmp_path / "r.npy", np.arange(4))
    with pytest.raises(ArtifactError, match=words):
        list(call(handle(tmp_path / "r.npy", "npy")))


def test_other_formats_and_missing_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("[1, 2]")
    with pytest.raises(ArtifactError, match="'readings' is json; batches\\(\\) reads npy or npz"):
        handle(tmp_path / "r.json", "json").batches(1)
    np.savez(tmp_path / "r.npz", x=np.ones(2))
    with pytest.raises(ArtifactError, match="has no array 'q' \\(it has x\\)"):
        list(handle(tmp_path / "r.npz", "npz").batches(1, key="q"))
