"""Namespace limits in a cluster: each controller throttles its part of a limit, the limit
divided by the live controllers (as upstream divides by its cluster's size), and the whole
limit again once it is the only one left; with ``--cluster-shard`` a namespace's invokes go
to its owner, which applies the whole invoke limits."""

from __future__ import annotations

from pathlib import Path

from edgewhisk_client import Client
from edgewhisk_devkit import Cluster, Redis

from .test_changes import seen_within

TOO_MANY = "Too many requests in the last minute (count: {}, allowed: {})."


def fire(client: Client) -> tuple[int, str]:
    answer = client.request("POST", "triggers/t", json={})
    return answer.status_code, answer.json().get("error", "") if answer.content else ""


def test_each_controller_throttles_its_part_of_a_limit(tmp_path: Path, db: str,
                                                      redis: Redis) -> None:
    """fires per minute 4, two controllers: each takes 2 fires of a window and refuses the
    third naming its part; c1 stopped, c0 takes the whole 4 in the same window. Before,
    each controller applied the whole limit: the namespace had twice its limit."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", "--fires-per-minute", "4")) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        assert c0.request("PUT", "triggers/t", json={}).status_code == 200
        seen_within(lambda: len(c0.request("GET", "cluster").json()["live"]) == 2, 5.0)
        at = {name: [fire(client) for _ in range(3)] for name, client in (("c0", c0),
                                                                            ("c1", c1))}
        cluster[1].stop()
        seen_within(lambda: c0.request("GET", "cluster").json()["live"] == ["c0"], 10.0)
        alone = [fire(c0) for _ in range(2)]  # the same window (60 s from c0's first fire)
    for name in ("c0", "c1"):
        assert all(status < 400 for status, _ in at[name][:2]), at[name]
        assert at[name][2] == (429, TOO_MANY.format(3, 2)), at[name]
    assert alone[0][0] < 400, alone  # the fourth of the whole 4
    assert alone[1] == (429, TOO_MANY.format(5, 4)), alone


def test_with_shards_the_owner_applies_the_whole_invoke_limit(tmp_path: Path, db: str,
                                                              redis: Redis) -> None:
    """invocations per minute 2, two controllers with ``--cluster-shard``: invokes through
    either reach the namespace's owner, which takes 2 (the whole limit, not its half) and
    refuses the third."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", "--cluster-shard",
                          "--invocations-per-minute", "2")) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        c0.actions.put("noop", {"exec": {"kind": "python:3",
                                         "code": "def main(args):\n    return {}\n"}})
        seen_within(lambda: len(c0.request("GET", "cluster").json()["live"]) == 2, 5.0)
        answers = [client.request("POST", "actions/noop", json={})
                   for client in (c0, c1, c0)]
    statuses = [answer.status_code for answer in answers]
    assert 429 not in statuses[:2], [a.text for a in answers]
    assert statuses[2] == 429 and answers[2].json()["error"] == TOO_MANY.format(3, 2)
