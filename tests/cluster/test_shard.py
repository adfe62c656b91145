"""Tenant sharding of invokes (``--cluster-shard``): an invoke arriving at a controller that
does not own its namespace is placed by the owner, and the client gets the same answer
either way (status, headers, record shape); an owner that died leaves the invoke to the
controller it arrived at."""

from __future__ import annotations

import time
from pathlib import Path

import requests
from edgewhisk_client import Client
from edgewhisk_devkit import UNLIMITED, Cluster, Redis

from .conftest import status

CODE = "def main(args):\n    return {'got': args.get('n')}\n"
SHAPE = {"activationId", "annotations", "duration", "end", "logs", "name", "namespace",
         "publish", "response", "start", "subject", "version"}


def invoke(client: Client, name: str, query: str = "blocking=true") -> requests.Response:
    return client.request("POST", f"actions/{name}?{query}", json={"n": 7})


def test_invokes_are_placed_by_the_namespaces_owner_with_the_same_answer(
        tmp_path: Path, db: str, redis: Redis) -> None:
    options = ("--invokers", "1", "--cluster-shard", *UNLIMITED)
    with Cluster(tmp_path, 2, db=db, redis=redis.uri, options=options) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        deadline = time.monotonic() + 5
        while len(status(c0)["live"]) < 2 or len(status(c1)["live"]) < 2:
            assert time.monotonic() < deadline, status(c0)
            time.sleep(0.05)
        owner_id = status(c0)["owner"]
        owner, other = (c0, c1) if owner_id == "c0" else (c1, c0)
        other.actions.put("echo", {"exec": {"kind": "python:3", "code": CODE}})

        here, there = invoke(owner, "echo"), invoke(other, "echo")
        assert here.status_code == there.status_code == 200, there.text
        assert set(here.json()) == set(there.json()) >= SHAPE
        assert here.json()["response"] == there.json()["response"]
        assert there.headers["X-OW-Activation-Id"] == there.json()["activationId"]
        assert there.headers["Content-Type"] == here.headers["Content-Type"]
        zipped = other.request("POST", "actions/echo?blocking=true&result=true", json={"n": 7},
                               headers={"Accept-Encoding": "gzip"})
        assert (zipped.status_code, zipped.json()) == (200, {"got": 7})  # as it asked
        result = invoke(other, "echo", "blocking=true&result=true")
        assert (result.status_code, result.json()) == (200, {"got": 7})
        started = invoke(other, "echo", "blocking=false")
        assert started.status_code == 202 and set(started.json()) == {"activationId"}
        assert owner.activations.wait(started.json()["activationId"], 30)["response"][
            "result"] == {"got": 7}
        missing_here, missing_there = invoke(owner, "nothing"), invoke(other, "nothing")
        assert missing_there.status_code == missing_here.status_code == 404
        assert missing_there.json()["error"] == missing_here.json()["error"]
        assert status(other)["sharded"]["sent"] == 5  # everything it was asked, placed by
        assert status(owner)["sharded"]["received"] == 5  # the owner (the 404 answered by it)
        assert status(owner)["sharded"]["sent"] == 0

        cluster.kill(0 if owner is c0 else 1)  # the owner dies: the invoke is placed here
        alone = invoke(other, "echo", "blocking=true&result=true")
        assert (alone.status_code, alone.json()) == (200, {"got": 7})
        assert status(other)["sharded"]["sent"] == 5
