"""Pending work (``policy.wait``) through any controller of a cluster: the listing and a
pending activation's ``GET`` show what every controller's activations wait for (their
accepted documents say), and a cancel asked of another controller is relayed to the one that
accepted the activation and waits on it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edgewhisk_client import Client
from edgewhisk_devkit import Cluster, Redis

WAITS = [{"key": "edgewhisk", "value": {"version": 1, "policies": [
    {"type": "fn", "node": "u1_device", "strict": True},
    {"type": "wait", "within": "10m"}]}}]
"""No device of u1 is anywhere: an activation of it waits."""


def pending(client: Client) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = client.request("GET", "activations",
                                                  params={"status": "pending"}).json()
    return listed


def test_pending_work_is_listed_read_and_cancelled_through_another_controller(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """Accepted by c0, waiting there; c1 lists it, answers its GET with what it waits for,
    and cancels it (c0 records the cancel). Before, c1 listed nothing, its GET said only
    202, and the cancel was a 409 ("not pending")."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri, options=("--invokers", "0")) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        c0.actions.put("retrain", {"exec": {"kind": "python:3",
                                            "code": "def main(args):\n    return {}\n"},
                                   "annotations": WAITS})
        started = c0.request("POST", "actions/retrain", json={})
        assert started.status_code == 202, started.text
        activation_id = started.json()["activationId"]
        deadline = time.monotonic() + 15.0
        while not pending(c1) and time.monotonic() < deadline:
            time.sleep(0.05)
        listed = pending(c1)
        read = c1.request("GET", f"activations/{activation_id}")
        cancelled = c1.request("DELETE", f"activations/{activation_id}")
        again = c1.request("DELETE", f"activations/{activation_id}")
        recorded = c0.request("GET", f"activations/{activation_id}")
    assert [item["activationId"] for item in listed] == [activation_id], listed
    assert read.status_code == 202 and read.json()["status"] == "pending", read.text
    assert read.json()["pending"]["activationId"] == activation_id
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["activationId"] == activation_id
    assert again.status_code == 409, again.text
    assert recorded.status_code == 200 and recorded.json() == cancelled.json()
