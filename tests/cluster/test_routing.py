"""An activation through any controller reaches a device connected to any other: blocking
and non-blocking, its record stored once, readable through every controller."""

from __future__ import annotations

from pathlib import Path

from edgewhisk_devkit import Cluster, Redis

from .conftest import agent, holder, wait_for_peer

CODE = ("import os\n"
        "def main(args):\n"
        "    print('ran', args.get('n'))\n"
        "    return {'n': args.get('n'), 'twice': 2 * args.get('n', 0)}\n")


def test_any_controller_reaches_a_device_held_by_another(tmp_path: Path, db: str,
                                                         redis: Redis) -> None:
    with Cluster(tmp_path, 3, db=db, redis=redis.uri, options=("--invokers", "0")) as cluster:
        with cluster[1].client() as c1:
            device = agent(cluster, c1, "dev-b", [1], tmp_path)
        try:
            device.wait_registered()
            assert holder(cluster, "dev-b") == 1
            with cluster[0].client() as c0, cluster[2].client() as c2:
                seen = wait_for_peer(c0, "dev-b")
                assert seen["controller"] == "c1" and seen["healthy"] is True
                wait_for_peer(c2, "dev-b")
                c0.actions.put("echo", {"exec": {"kind": "python:3", "code": CODE}})
                blocking = c0.actions.invoke("echo", {"n": 21})
                assert blocking.status == 200, blocking.record
                record = blocking.record
                assert record["response"]["result"] == {"n": 21, "twice": 42}
                assert record["response"]["success"] is True
                assert record["logs"][0].endswith("stdout: ran 21")
                annotations = {a["key"]: a["value"] for a in record["annotations"]}
                assert annotations["invoker"] == "dev-b"
                assert c2.activations.get(record["activationId"]) == record
                started = c2.actions.start("echo", {"n": 5})
                later = c1.activations.wait(started, 30.0)
                assert later["response"]["result"] == {"n": 5, "twice": 10}
                assert c0.activations.get(started) == later
                ids = [r["activationId"] for r in c1.activations.list()]
                assert sorted(ids) == sorted([record["activationId"], started])
        finally:
            device.stop()
        own_folders = [c.log() for c in cluster.controllers]
    assert all("the other controllers of the cluster cannot serve" in log
               for log in own_folders), "no warning: each controller keeps its own bytes"
