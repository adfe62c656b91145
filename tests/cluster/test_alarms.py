"""Alarms in a cluster (``dispatch/alarms.py``): every controller keeps a timer for every
active alarm, those registered through another followed through the store's changes feed,
and the store's revisions pick the one that fires each occurrence, so a controller that dies
leaves its alarms firing from the others."""

from __future__ import annotations

import time
from pathlib import Path

from edgewhisk_client import Client
from edgewhisk_devkit import Cluster, Redis

from .test_changes import seen_within


def fired(client: Client, trigger: str) -> int:
    answer = client.request("GET", f"alarms/{trigger}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["status"]["fired"])


def test_an_alarm_registered_through_a_controller_that_dies_goes_on_firing(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """An interval alarm of 1 s registered through c0 (c1 had read the alarms at its start:
    none); c0 is SIGKILLed; the alarm goes on firing from c1. Before, c1 read the alarms
    once at its start, and the alarm stopped with c0. While both live, each occurrence fires
    once."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri, options=("--invokers", "0")) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        assert c0.request("PUT", "triggers/tick", json={}).status_code == 200
        made = c0.request("PUT", "alarms/tick", params={"kind": "interval"},
                          json={"seconds": 1})
        assert made.status_code == 200, made.text
        seen_within(lambda: fired(c1, "tick") >= 1, 5.0)
        started, first = time.monotonic(), fired(c1, "tick")
        time.sleep(3.0)  # both controllers keep a timer: each occurrence still fires once
        both = (fired(c1, "tick") - first, time.monotonic() - started)
        cluster.kill(0)
        before = fired(c1, "tick")
        deadline = time.monotonic() + 10.0
        while fired(c1, "tick") < before + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        after = fired(c1, "tick")
        paused = c1.request("POST", "alarms/tick", json={"status": "paused"})
    assert both[0] <= both[1] + 1, f"{both[0]} firings in {both[1]:.1f} s of a 1 s interval"
    assert after >= before + 3, f"fired {before} times before c0 died, {after} after"
    assert paused.status_code == 200, paused.text
