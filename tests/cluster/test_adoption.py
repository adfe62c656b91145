"""A dead controller's device registers with a controller other than the one that took the
dead one over: that controller adopts the run the taker waits for, and the taker records the
device's result within seconds, not after the 40 s reclaim window (``cluster/adoption.py``)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from signal import SIGCONT, SIGSTOP

import redis as redis_py
from edgewhisk_controller.cluster import keys
from edgewhisk_devkit import UNLIMITED, Cluster, Redis

from .conftest import agent, holder
from .test_takeover import CODE

RECORDED_WITHIN_S = 15.0  # the window the taker would otherwise wait is 40 s


def test_the_taker_records_a_run_adopted_by_the_controller_the_device_chose(
        tmp_path: Path, db: str, redis: Redis) -> None:
    ran = tmp_path / "ran.log"
    ran.touch()
    with Cluster(tmp_path, 3, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1, \
            redis_py.Redis.from_url(redis.uri, decode_responses=True) as shared:
        device = agent(cluster, c0, "dev-a", [0, 2], tmp_path, "--no-sandbox")
        stopped = False
        try:
            device.wait_registered()
            c0.actions.put("work", {"exec": {"kind": "python:3", "code": CODE},
                                    "limits": {"memory": 128}})
            started = c0.actions.start("work", {"sleep": 5.0, "ran": str(ran)})
            time.sleep(0.5)  # running on the device, accepted by c0
            # c2, where the device goes next, cannot take c0 over: c1 does, alone
            os.kill(cluster[2].pid, SIGSTOP)
            stopped = True
            cluster.kill(0)
            deadline = time.monotonic() + 2.8  # c2 is gone to the others after 3 s
            while shared.get(keys.takeover("c0")) is None and time.monotonic() < deadline:
                time.sleep(0.02)
            taker = shared.get(keys.takeover("c0"))
            shared.hdel(keys.claims("dev-a"), "local")  # c0's last word on the device
            os.kill(cluster[2].pid, SIGCONT)
            stopped = False
            assert taker == "c1"
            device.wait_registered(2, timeout_s=10)
            assert holder(cluster, "dev-a") == 2
            # the adopted run's memory is c2's own use of the device while it runs (c2
            # publishes it; 0 if it did not count the run)
            deadline = time.monotonic() + 2
            while shared.hget(keys.claims("dev-a"), "local") != "128":
                assert time.monotonic() < deadline, shared.hgetall(keys.claims("dev-a"))
                time.sleep(0.05)
            record = c1.activations.wait(started, RECORDED_WITHIN_S)
        finally:
            if stopped:
                os.kill(cluster[2].pid, SIGCONT)
            device.stop()
    assert record["response"]["success"] is True, record
    assert record["response"]["result"] == {"done": True}
    assert ran.read_text().split() == [started]  # once
