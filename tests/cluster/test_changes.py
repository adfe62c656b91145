"""Caches follow the other controllers' writes through CouchDB's changes feed within 1 s: the
selector index (a model registered or deleted through c0 is what c1 resolves) and the key
cache (a key rotated through c0 stops opening c1)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from edgewhisk_client import Client
from edgewhisk_devkit import Cluster, Redis

WITHIN_S = 1.0
SELECTOR = {"type": "classifier", "trained_on": "glucose", "order": "best:accuracy"}


def seen_within(check: Callable[[], bool], timeout_s: float = WITHIN_S) -> float:
    """Seconds until ``check()`` held; AssertionError if not within ``timeout_s``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not seen within {timeout_s} s")
        time.sleep(0.02)
    return time.monotonic() - started


def resolved(client: Client) -> tuple[int, int | None]:
    response = client.request("POST", "artifacts/resolve", json={"selector": SELECTOR})
    return response.status_code, response.json().get("version")


def upload(client: Client, data: bytes, accuracy: float) -> int:
    version = client.artifacts.put(
        "feed/base", data, kind="model", sha256=hashlib.sha256(data).hexdigest(),
        metadata={"type": "classifier", "trained_on": "glucose"},
        metrics={"accuracy": accuracy})["version"]
    return int(version)


def test_selector_index_and_keys_follow_writes_on_another_controller(
        tmp_path: Path, db: str, redis: Redis) -> None:
    with Cluster(tmp_path, 3, db=db, redis=redis.uri, options=("--invokers", "0")) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        assert resolved(c1) == (404, None)  # c1's index of the namespace is loaded, empty
        first = upload(c0, b"one", 0.7)
        seen_within(lambda: resolved(c1) == (200, first))
        best = upload(c0, b"two", 0.9)
        seen_within(lambda: resolved(c1) == (200, best))
        c0.artifacts.delete(f"feed/base@{best}")
        seen_within(lambda: resolved(c1) == (200, first))
        with cluster[2].client() as c2:
            assert resolved(c2) == (200, first)
        assert c1.request("GET", "actions").status_code == 200  # the key is cached on c1
        rotated = c0.namespace_keys.rotate_key()["key"]
        seen_within(lambda: c1.request("GET", "actions").status_code == 401)
        with cluster[1].client(rotated) as again:
            assert again.request("GET", "actions").status_code == 200


def test_a_cached_gate_state_follows_newer_revisions_from_the_feed(tmp_path: Path) -> None:
    """What the feed hands the gate keeper: a newer revision replaces the cached state, an
    older one (its own write's echo arriving late) does not, a deletion drops it."""
    import asyncio

    from edgewhisk_controller.artifacts.gates import GATE_STATES, GateKeeper
    from edgewhisk_controller.stores import open_store

    async def scenario() -> list[object]:
        store = open_store(tmp_path / "data")
        try:
            rev = await store.put(GATE_STATES, {"_id": "k", "holding": False})
            keeper = GateKeeper(store, None)

            async def holding() -> object:
                # the cached state the feed changes, read as holding() reads it
                return (await keeper._state("k"))["holding"]  # noqa: SLF001

            seen = [await holding()]
            keeper.changed({"_id": "k", "_rev": "9-x", "holding": True})
            seen.append(await holding())
            keeper.changed({"_id": "k", "_rev": rev, "holding": False})  # older: ignored
            seen.append(await holding())
            keeper.changed({"_id": "k", "_deleted": True})  # read again from the store
            seen.append(await holding())
            keeper.changed({"_id": "other", "_rev": "1-y", "holding": True})  # not cached
            return seen
        finally:
            await store.close()

    assert asyncio.run(scenario()) == [False, True, True, False]
