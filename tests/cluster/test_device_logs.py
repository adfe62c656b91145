"""A device's own log through any controller of the cluster: asked of a controller that does
not hold the device, the request is relayed to the one holding its tunnel, with the caller's
key, and its answer streamed back as it is (``Sharding.relay``)."""

from __future__ import annotations

import itertools
from pathlib import Path

from edgewhisk_devkit import Cluster, Redis

from .conftest import agent, wait_for_peer

REGISTERED = "registered as dev-a"


def test_a_devices_log_through_a_controller_that_does_not_hold_it(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """dev-a is on c1; c0 answers its log (once and followed) from c1, and an unknown
    device's 404 as before. Before, c0 took the peer's device for a local invoker: 400 "its
    log is the controller's own"."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri, options=("--invokers", "0")) as cluster, \
            cluster[0].client() as c0:
        device = agent(cluster, c0, "dev-a", [1], tmp_path)
        try:
            device.wait_registered()
            wait_for_peer(c0, "dev-a", controller="c1")
            once = list(c0.invoker_logs("dev-a", tail=1000))
            followed = list(itertools.islice(
                (line for line in c0.invoker_logs("dev-a", tail=1000, follow=True)
                 if REGISTERED in line), 1))
            unknown = c0.request("GET", "invokers/nobody/logs")
        finally:
            device.stop()
    assert sum(REGISTERED in line for line in once) == 1, once
    assert len(followed) == 1
    assert unknown.status_code == 404
    assert "not known to this controller" in unknown.json()["error"]
