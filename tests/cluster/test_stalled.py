"""A controller that stalls (a long pause, a frozen VM) instead of dying and is taken over
leaves at once when it runs again, instead of finishing, a second time, the work its taker now
finishes (one live again before the grace ends is not taken over: ``test_under_way.py``)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from signal import SIGCONT, SIGKILL, SIGSTOP

from edgewhisk_controller.cluster.node import FENCED_EXIT
from edgewhisk_devkit import UNLIMITED, Cluster, Redis

from .conftest import agent, wait_for_peer
from .test_restart import _until
from .test_takeover import CODE


def test_a_controller_taken_over_while_stalled_leaves_when_it_runs_again(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """c1 is held (SIGSTOP) until c0 has taken it over, then let go: it exits at once with
    ``FENCED_EXIT`` (before, it went on as if nothing had happened, beside its taker), and
    started again it joins as a new incarnation and stays."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster:
        os.kill(cluster[1].pid, SIGSTOP)
        try:
            _until(lambda: "took over controller c1" in cluster[0].log(), 30.0)
        finally:
            os.kill(cluster[1].pid, SIGCONT)
        status = cluster[1].child.wait_exit(15.0)
        cluster[1].stop()
        fenced_log = cluster[1].log()
        cluster[1].start()
        time.sleep(2.0)  # several of its publications: a fence would have ended it
        assert cluster[1].child.process is not None
        assert cluster[1].child.process.poll() is None
        with cluster[1].client() as c1:
            assert c1.namespaces() is not None
    assert status == FENCED_EXIT
    assert "took this controller (c1, incarnation" in fenced_log


def test_a_device_leaving_a_stalled_holder_before_its_death_shows_keeps_its_result(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """dev-a runs c0's activation when c0 stalls (SIGSTOP: its connections to Redis stay
    listed, as a dead host's do); dev-a, pinging every 0.5 s, leaves for c1 before c0's
    takeover (its key expires 3 s after its last renewal, the takeover's grace is 1.5 s
    more). c1 holds the registration until the key has expired, answering dev-a's pings
    meanwhile, takes c0 over, and reclaims the run: it is recorded with the result dev-a
    delivers, having run once. Before, c1 saw c0's connections listed and let the
    registration on: the held result was dropped as unknown, and the takeover waited for a
    device already back; and a registration held by the hub left the device's pings
    unanswered until it ended (dev-a dropped the connection, and tried again)."""
    ran = tmp_path / "ran.log"
    ran.touch()
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        device = agent(cluster, c0, "dev-a", [0, 1], tmp_path, "--no-sandbox",
                       "--ws-heartbeat", "0.5", "--backoff-cap", "0.5")
        try:
            device.wait_registered()
            c0.actions.put("work", {"exec": {"kind": "python:3", "code": CODE},
                                    "limits": {"memory": 128, "timeout": 15_000}})
            started = c0.actions.start("work", {"sleep": 4.0, "ran": str(ran)})
            time.sleep(0.5)  # running on the device
            os.kill(cluster[0].pid, SIGSTOP)
            try:
                device.wait_registered(2, timeout_s=10)  # with c1
                record = c1.activations.wait(started, 60.0)
            finally:
                os.kill(cluster[0].pid, SIGCONT)  # taken over: it leaves (FENCED_EXIT)
            agent_log = device.log()
        finally:
            device.stop()
    assert "closed before registering" not in agent_log  # held, its pings answered
    assert record["response"]["success"], record["response"]
    assert record["response"]["result"] == {"done": True}
    assert ran.read_text().split() == [started]


def test_a_device_that_leaves_while_its_registration_is_held_is_not_registered(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """dev-a leaves c0, stalled, for c1, which holds the registration (c0's connections are
    listed); dev-a is killed meanwhile. Once the hold ends c1 closes the connection as gone
    and does not list dev-a; before, it registered the closed connection, and dev-a was
    listed online, a place to run, for the 10 s a disconnected device has to come back (when
    the hub's answer failed first, it logged that as a fault of its own: "handling a frame
    failed")."""
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster, \
            cluster[1].client() as c1:
        with cluster[0].client() as c0:
            device = agent(cluster, c0, "dev-a", [0, 1], tmp_path, "--no-sandbox",
                           "--ws-heartbeat", "0.5", "--backoff-cap", "0.5")
        try:
            device.wait_registered()
            wait_for_peer(c1, "dev-a", controller="c0")
            os.kill(cluster[0].pid, SIGSTOP)
            try:
                _until(lambda: "controller c0 is listed connected" in cluster[1].log(), 15.0)
                device.stop(SIGKILL)
                _until(lambda: "took over controller c0" in cluster[1].log(), 30.0)
            finally:
                os.kill(cluster[0].pid, SIGCONT)
        finally:
            device.stop()
        _until(lambda: "closed while its registration was held" in cluster[1].log(), 10.0)
        listed = [i["id"] for i in c1.invokers() if i["where"] == "tunnel"]
    assert "handling a frame failed" not in cluster[1].log()
    assert "dev-a" not in listed  # never registered here: not online for the next 10 s
