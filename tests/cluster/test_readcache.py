"""The store's read cache of actions and packages (``stores/readcache.py``): invokes resolve
their action without a store read, and the changes feed keeps every controller's cache
current within 1 s of a write on another (tests/cluster/test_changes.py's promise)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edgewhisk_client import Client
from edgewhisk_controller.stores import CouchDBStore
from edgewhisk_controller.stores.readcache import ReadCache
from edgewhisk_devkit import Cluster, Redis

from cluster.test_changes import seen_within


def code(answer: str) -> dict[str, object]:
    return {"exec": {"kind": "python:3", "code": f"def main(a):\n    return {{'v': {answer!r}}}\n"}}


def action_code(client: Client, name: str) -> tuple[int, str | None]:
    response = client.request("GET", f"actions/{name}")
    body = response.json()
    return response.status_code, body.get("exec", {}).get("code")


def package_parameters(client: Client, name: str) -> list[object]:
    return list(client.request("GET", f"packages/{name}").json().get("parameters", []))


def test_actions_and_packages_changed_on_another_controller_are_read_within_1_s(
        tmp_path: Path, db: str, redis: Redis) -> None:
    with Cluster(tmp_path, 2, db=db, redis=redis.uri, options=("--invokers", "0")) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        c1.actions.put("a", code("one"))
        first = action_code(c0, "a")  # read by c0, kept in its cache
        assert first[0] == 200 and "one" in str(first[1])
        c1.request("PUT", "actions/a?overwrite=true", json=code("two")).raise_for_status()
        seen_within(lambda: "two" in str(action_code(c0, "a")[1]))
        c0.request("PUT", "actions/a?overwrite=true", json=code("three")).raise_for_status()
        assert "three" in str(action_code(c0, "a")[1])  # its own write: at once
        c1.request("DELETE", "actions/a").raise_for_status()
        seen_within(lambda: action_code(c0, "a")[0] == 404)

        params = [{"key": "k", "value": 1}]
        c1.request("PUT", "packages/p", json={"parameters": params}).raise_for_status()
        assert package_parameters(c0, "p") == params
        changed = [{"key": "k", "value": 2}]
        c1.request("PUT", "packages/p?overwrite=true",
                   json={"parameters": changed}).raise_for_status()
        seen_within(lambda: package_parameters(c0, "p") == changed)


def test_a_cached_read_is_answered_until_the_document_is_dropped(db: str) -> None:
    """Another writer's change is not seen until ``changed`` (what the feed calls) drops it:
    the cache answers, not the store; this store's own writes drop it at once."""

    async def scenario() -> None:
        async with CouchDBStore(db) as cached, CouchDBStore(db) as other:
            cache = cached.cache_reads(["actions"])
            rev = await other.put("actions", {"_id": "ns/a", "v": 1})
            assert (await cached.get("actions", "ns/a"))["v"] == 1
            await other.put("actions", {"_id": "ns/a", "_rev": rev, "v": 2})
            kept = await cached.get("actions", "ns/a")
            assert kept["v"] == 1 and cache.hits == 1  # from the cache
            kept["v"] = "changed by a caller"
            assert (await cached.get("actions", "ns/a"))["v"] == 1  # a copy each time
            cached.changed("actions", {"_id": "ns/a"})
            now = await cached.get("actions", "ns/a")
            assert now["v"] == 2
            await cached.put("actions", {"_id": "ns/a", "_rev": now["_rev"], "v": 3})
            assert (await cached.get("actions", "ns/a"))["v"] == 3
            rev = await other.put("triggers", {"_id": "ns/t", "v": 1})  # not cached
            assert (await cached.get("triggers", "ns/t"))["v"] == 1
            await other.put("triggers", {"_id": "ns/t", "_rev": rev, "v": 2})
            assert (await cached.get("triggers", "ns/t"))["v"] == 2

    asyncio.run(scenario())


def test_a_read_in_flight_across_a_change_is_not_kept() -> None:
    cache = ReadCache(["actions"], limit=2)
    token = cache.token()  # a read starts...
    cache.drop("actions", "ns/a")  # ...the document changes meanwhile...
    cache.keep("actions", "ns/a", {"v": 1}, token)  # ...its answer may predate the change
    assert cache.lookup("actions", "ns/a") is None
    for name in ("a", "b", "c"):
        cache.keep("actions", f"ns/{name}", {"v": name}, cache.token())
    assert cache.lookup("actions", "ns/a") is None  # the oldest, beyond the limit
    assert cache.lookup("actions", "ns/c") == {"v": "c"}
    cache.keep("rules", "ns/r", {"v": 1}, cache.token())
    assert cache.lookup("rules", "ns/r") is None  # not a cached collection
