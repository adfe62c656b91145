"""The node store on real files: verification, the byte budget with LRU eviction, pinned
entries, restart, concurrency and the access log."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_runtime.artifacts.canonical import digest
from edgewhisk_runtime.artifacts.store import NodeStore, parse_size
from edgewhisk_runtime.exceptions import ArtifactNotFound, DigestMismatch, StoreFull

META = {"format": "bytes", "kind": "data", "locality": "cloud"}


def _blob(store: NodeStore, name: str, content: bytes) -> tuple[Path, dict[str, Any]]:
    """A fetched blob in the store's scratch folder and the add_blob arguments for it."""
    path = store.tmp / name
    path.write_bytes(content)
    return path, {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content), **META}


def _add(store: NodeStore, key: str, content: bytes, *, pinned: bool = False) -> None:
    path, meta = _blob(store, key.replace("/", "_"), content)
    asyncio.run(store.add_blob(key, path, pinned=pinned, **meta))


def _log(store: NodeStore) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in store.log.read_text().splitlines()]
    assert all(set(line) == {"ts", "op", "key", "sha256", "size", "by"} for line in lines)
    return [(line["op"], line["key"]) for line in lines]


def _snapshot(store: NodeStore) -> tuple[Any, ...]:
    files = sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*")
                   if "tmp" not in p.parts)
    return store.keys(), store.used_bytes, store.entries(), files, store.log.read_bytes()


@pytest.fixture
def store(tmp_path: Path) -> NodeStore:
    return NodeStore(tmp_path / "store", capacity_bytes=300, by="dev1")


def test_an_added_blob_is_kept_under_its_key_and_read_back(store: NodeStore) -> None:
    _add(store, "guest/u1/glucose@1", b"readings")
    entry = store.get("guest/u1/glucose@1")
    assert entry is not None
    assert (entry.size, entry.sha256) == (8, hashlib.sha256(b"readings").hexdigest())
    assert store.path(entry.key).read_bytes() == b"readings"
    assert store.open_blob(entry.key)[1].read_bytes() == b"readings"
    assert store.keys() == ["guest/u1/glucose@1"] and store.used_bytes == 8
    assert not list(store.tmp.iterdir())
    assert store.get("guest/other@1") is None
    with pytest.raises(ArtifactNotFound, match="'guest/other@1' is not in the store of dev1"):
        store.path("guest/other@1")


@pytest.mark.parametrize("change", [{"sha256": "0" * 64}, {"size": 7}],
                         ids=["a wrong sha256 is refused", "a wrong size is refused"])
def test_a_digest_mismatch_is_refused_with_the_store_unchanged(store: NodeStore,
                                                               change: dict) -> None:
    _add(store, "guest/a@1", b"a" * 10)
    before = _snapshot(store)
    path, meta = _blob(store, "incoming", b"tampered")
    with pytest.raises(DigestMismatch, match="'guest/b@1': blob has 8 bytes"):
        asyncio.run(store.add_blob("guest/b@1", path, pinned=False, **{**meta, **change}))
    assert _snapshot(store) == before
    assert path.read_bytes() == b"tampered"


def test_the_least_recently_used_unpinned_entries_are_evicted_first(store: NodeStore) -> None:
    for name in "abc":
        _add(store, f"guest/{name}@1", name.encode() * 100)
    assert store.get("guest/a@1") is not None  # a is now more recent than b and c
    _add(store, "guest/d@1", b"d" * 150)
    assert store.keys() == ["guest/a@1", "guest/d@1"]
    assert store.used_bytes == 250
    assert [op for op in _log(store) if op[0] == "evict"] == [("evict", "guest/b@1"),
                                                              ("evict", "guest/c@1")]
    assert len(list(store.blobs.iterdir())) == 2


def test_pinned_entries_are_never_evicted_and_a_full_store_refuses_unchanged(
        store: NodeStore) -> None:
    _add(store, "u1/glucose@1", b"p" * 200, pinned=True)
    _add(store, "guest/cache@1", b"c" * 100)
    _add(store, "guest/other@1", b"o" * 100)
    assert store.keys() == ["guest/other@1", "u1/glucose@1"]
    before = _snapshot(store)
    path, meta = _blob(store, "big", b"b" * 101)
    with pytest.raises(StoreFull) as full:
        asyncio.run(store.add_blob("guest/big@1", path, pinned=False, **meta))
    assert full.value.message == (
        "artifact 'guest/big@1' needs 101 bytes but the store of dev1 has a capacity of 300 "
        "bytes and pinned artifacts hold 200 bytes; nothing was evicted or stored")
    assert _snapshot(store) == before and path.exists()


def test_leased_entries_are_not_evicted_until_the_lease_ends(store: NodeStore) -> None:
    """A run leases its consumes from before staging until it ends: a concurrent add must not
    evict the model it is reading, even the least recently used cache."""
    _add(store, "guest/model@1", b"m" * 200)
    _add(store, "guest/other@1", b"o" * 100)
    with store.lease(["guest/model@1", "guest/not-yet@1"]), store.lease(["guest/model@1"]):
        path, meta = _blob(store, "big", b"b" * 150)
        with pytest.raises(StoreFull) as full:
            asyncio.run(store.add_blob("guest/big@1", path, pinned=False, **meta))
        assert "artifacts in use 200 more" in full.value.message
        assert store.keys() == ["guest/model@1", "guest/other@1"]
        _add(store, "guest/small@1", b"s" * 100)  # room made from the unleased cache alone
        assert store.keys() == ["guest/model@1", "guest/small@1"]
    _add(store, "guest/big@1", b"b" * 150)
    assert store.keys() == ["guest/big@1", "guest/small@1"]  # the model went, once free


def test_re_adding_a_key_with_the_same_bytes_keeps_it_pinned(store: NodeStore) -> None:
    _add(store, "u1/glucose@1", b"g" * 10, pinned=True)
    _add(store, "u1/glucose@1", b"g" * 10, pinned=False)
    entry = store.get("u1/glucose@1")
    assert entry is not None and entry.pinned and store.used_bytes == 10


def test_a_restarted_store_keeps_its_index_order_and_pins(tmp_path: Path) -> None:
    first = NodeStore(tmp_path / "s", capacity_bytes=300, by="dev1")
    _add(first, "guest/a@1", b"a" * 100)
    _add(first, "guest/b@1", b"b" * 100, pinned=True)
    _add(first, "guest/c@1", b"c" * 100)
    first.get("guest/a@1")
    (first.tmp / "half-fetched").write_bytes(b"x")
    second = NodeStore(tmp_path / "s", capacity_bytes=300, by="dev1")
    assert second.entries() == first.entries()
    assert not list(second.tmp.iterdir())
    _add(second, "guest/d@1", b"d" * 100)  # c is the least recently used unpinned entry
    assert second.keys() == ["guest/a@1", "guest/b@1", "guest/d@1"]
    assert second.path("guest/b@1").read_bytes() == b"b" * 100


def test_a_restart_forgets_entries_whose_blob_is_gone_and_files_of_no_entry(
        tmp_path: Path) -> None:
    first = NodeStore(tmp_path / "s", capacity_bytes=300, by="dev1")
    _add(first, "guest/a@1", b"a")
    _add(first, "guest/b@1", b"b")
    first.open_blob("guest/a@1")[1].unlink()
    (first.blobs / "stray").write_bytes(b"left by a crash")
    second = NodeStore(tmp_path / "s", capacity_bytes=300, by="dev1")
    assert second.keys() == ["guest/b@1"]
    assert len(list(second.blobs.iterdir())) == 1


def test_concurrent_adds_stay_within_budget_and_consistent(tmp_path: Path) -> None:
    store = NodeStore(tmp_path / "s", capacity_bytes=1000, by="dev1")
    changes: list[int] = []
    store.on_change = lambda: changes.append(store.used_bytes)

    async def add_all() -> None:
        adds = []
        for i in range(30):
            path, meta = _blob(store, f"f{i}", bytes([i]) * (50 + i))
            adds.append(store.add_blob(f"guest/a{i % 20}@1", path, pinned=False, **meta))
        await asyncio.gather(*adds)

    asyncio.run(add_all())
    assert len(changes) >= 30 and max(changes) <= 1000
    assert store.used_bytes <= 1000
    assert len(list(store.blobs.iterdir())) == len(store.keys())
    for entry in store.entries():
        assert digest(store.open_blob(entry.key)[1]) == (entry.size, entry.sha256)
    assert NodeStore(tmp_path / "s", capacity_bytes=1000, by="dev1").entries() == \
        store.entries()


def test_a_produced_folder_is_ingested_as_its_tar_and_unpacked_once(tmp_path: Path) -> None:
    store = NodeStore(tmp_path / "s", capacity_bytes=1 << 20, by="dev1")
    model = tmp_path / "model"
    model.mkdir()
    (model / "model-symbol.json").write_text("{}")
    (model / "model-0000.params").write_bytes(b"\x00" * 20)
    entry = asyncio.run(store.ingest("u1/glucose-model@2", model, format="mxnet-gluon",
                                     kind="model", locality="local", pinned=True))
    assert (entry.size, entry.sha256) == digest(model)
    tree = store.path(entry.key)
    assert sorted(p.name for p in tree.iterdir()) == ["model-0000.params", "model-symbol.json"]
    inode = tree.stat().st_ino
    assert store.path(entry.key).stat().st_ino == inode
    assert digest(store.open_blob(entry.key)[1]) == (entry.size, entry.sha256)
    assert not list(store.tmp.iterdir())


def test_replacing_a_folder_with_other_bytes_gives_the_new_tree(tmp_path: Path) -> None:
    store = NodeStore(tmp_path / "s", capacity_bytes=1 << 20, by="dev1")
    for version in ("1", "2"):
        folder = tmp_path / f"v{version}"
        folder.mkdir()
        (folder / "weights").write_text(version)
        asyncio.run(store.ingest("guest/m@1", folder, format="directory", kind="model",
                                 locality="cloud", pinned=False))
        assert (store.path("guest/m@1") / "weights").read_text() == version


def test_every_access_is_one_json_line_and_on_change_follows_changes(store: NodeStore) -> None:
    changed: list[list[str]] = []
    store.on_change = lambda: changed.append(store.keys())
    _add(store, "guest/a@1", b"a" * 200)
    store.path("guest/a@1")
    store.open_blob("guest/a@1")
    _add(store, "guest/b@1", b"b" * 200)
    store.remove("guest/b@1")
    store.remove("guest/b@1")
    assert _log(store) == [("put", "guest/a@1"), ("get", "guest/a@1"), ("get", "guest/a@1"),
                           ("evict", "guest/a@1"), ("put", "guest/b@1"),
                           ("remove", "guest/b@1")]
    assert changed == [["guest/a@1"], ["guest/b@1"], []]
    assert store.keys() == [] and not list(store.blobs.iterdir())


def test_an_explicit_log_path_is_used(tmp_path: Path) -> None:
    store = NodeStore(tmp_path / "s", capacity_bytes=10, by="cloud-pool",
                      log=tmp_path / "logs" / "access.jsonl")
    (tmp_path / "logs").mkdir()
    _add(store, "guest/a@1", b"a")
    line = json.loads((tmp_path / "logs" / "access.jsonl").read_text())
    assert (line["op"], line["by"], line["size"]) == ("put", "cloud-pool", 1)


@pytest.mark.parametrize("text, size", [
    ("2GB", 2 * 10**9), ("2G", 2 * 10**9), ("2gb", 2 * 10**9), ("2GiB", 2 * 2**30),
    ("512MiB", 512 * 2**20), ("1.5G", 1_500_000_000), ("500MB", 500 * 10**6),
    ("1000000", 1_000_000), (" 64 MB ", 64 * 10**6),
])
def test_a_size_reads_the_same_wherever_a_store_budget_is_given(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GB", "2XB", "-1GB", "0", "0MB", "2 GB extra"])
def test_what_is_not_a_positive_size_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_size(text)
    assert repr(text) in str(caught.value)


def test_a_renamed_entry_keeps_its_blob_and_pin_across_a_restart(tmp_path: Path) -> None:
    store = NodeStore(tmp_path / "store", capacity_bytes=300, by="dev1")
    _add(store, "guest/photos@offline-a1", b"photos", pinned=True)
    _add(store, "guest/photos@2", b"older")
    store.rename("guest/photos@offline-a1", "guest/photos@2")  # a repeat replaces the target
    assert store.keys() == ["guest/photos@2"] and store.used_bytes == 6
    assert ("rename", "guest/photos@2") in _log(store)
    again = NodeStore(tmp_path / "store", capacity_bytes=300, by="dev1")
    entry = again.get("guest/photos@2")
    assert entry is not None and entry.pinned and again.path(entry.key).read_bytes() == b"photos"
    before = _snapshot(again)
    with pytest.raises(ArtifactNotFound):
        again.rename("guest/photos@offline-a1", "guest/photos@3")
    assert _snapshot(again) == before
