"""A controller SIGKILLed under load: its device is back through another within 10 s, every
acknowledged activation gets exactly one record, a non-idempotent one runs at most once, and
the work the dead controller had in flight on its device is taken over and recorded with the
result the device delivers."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis as redis_py
from edgewhisk_client import Client, ClientError
from edgewhisk_controller.cluster import keys
from edgewhisk_devkit import UNLIMITED, Agent, Cluster, Redis
from edgewhisk_runtime.records import ActivationRecord

from .conftest import agent, holder, wait_for_peer

CODE = ("import os, time\n"
        "def main(args):\n"
        "    time.sleep(args['sleep'])\n"
        "    with open(args['ran'], 'a') as ran:\n"
        "        ran.write(os.environ['__OW_ACTIVATION_ID'] + '\\n')\n"
        "    return {'done': True}\n")
RECORD_FIELDS = ActivationRecord.__required_keys__ | ActivationRecord.__optional_keys__
LOAD_S = 2.0  # of load before the kill, and as long after it
SLEEP_S = 1.0


class Load:
    """Non-blocking invokes through ``client`` until stopped; the acknowledged ids."""

    def __init__(self, client: Client, params: dict[str, Any], every_s: float) -> None:
        self.client, self.params, self.every_s = client, params, every_s
        self.acknowledged: list[str] = []
        self.refused = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.wait(self.every_s):
            try:
                self.acknowledged.append(self.client.actions.start("work", self.params))
            except ClientError:  # a dead controller, or nowhere to run: not acknowledged
                self.refused += 1


def test_a_controller_killed_under_load_loses_nothing_acknowledged(
        tmp_path: Path, db: str, redis: Redis) -> None:
    ran = tmp_path / "ran.log"
    ran.touch()
    params = {"sleep": SLEEP_S, "ran": str(ran)}
    options = ("--invokers", "0", *UNLIMITED)
    with Cluster(tmp_path, 3, db=db, redis=redis.uri, options=options) as cluster, \
            cluster[0].client() as c0, cluster[1].client(timeout_s=5) as c1:
        device = agent(cluster, c1, "dev-b", [1, 2, 0], tmp_path, "--memory", "4096",
                       "--no-sandbox")
        try:
            device.wait_registered()
            c0.actions.put("work", {"exec": {"kind": "python:3", "code": CODE},
                                    "limits": {"memory": 128}})
            loads = [Load(c1, params, 0.1), Load(c0, params, 0.2)]
            for load in loads:
                load.thread.start()
            time.sleep(LOAD_S)
            cluster.kill(1)
            killed = time.monotonic()
            device.wait_registered(2, timeout_s=10)
            back_s = time.monotonic() - killed
            time.sleep(LOAD_S)
            for load in loads:
                load.stopping.set()
                load.thread.join()
            assert holder(cluster, "dev-b") == 2 and back_s < 10
            acknowledged = [i for load in loads for i in load.acknowledged]
            records = {i: c0.activations.wait(i, 60.0) for i in acknowledged}
            runs = Counter(ran.read_text().split())
        finally:
            device.stop()
    assert len(set(acknowledged)) == len(acknowledged) > 20
    assert max(runs.values()) == 1  # non-idempotent: at most once
    assert set(runs) <= set(acknowledged)
    succeeded = {i for i, r in records.items() if r["response"]["success"]}
    assert succeeded <= set(runs)  # a success ran, once
    taken_over = [i for i in loads[0].acknowledged if i in succeeded
                  and records[i]["end"] / 1000 > time.time() - (time.monotonic() - killed)]
    assert taken_over, "nothing the dead controller had in flight was recorded as done"
    failed = {i: r["response"]["result"].get("error") for i, r in records.items()
              if i not in succeeded}
    assert all(failed.values()), failed


def test_what_a_dead_controller_forwarded_is_recorded_with_the_holders_answer(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """c0 accepts and forwards to a device c1 holds, then dies: the controller taking c0 over
    records the answer c1 sent to c0's reply stream; the action ran once."""
    started, record, ran = _forwarded_then_killed(tmp_path, db, redis, 2.0)
    _recorded_once(record, ran, started)


def test_a_forwarded_run_outlasting_the_reclaim_window_is_awaited_to_its_time_limit(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """The same with a run longer than the window a device has to come back (here 3 s:
    ``--heartbeat-timeout 3 --reconnect-cap 0``): the taker waits for the live holder's
    answer as long as the run may take (its time limit plus the result grace), so the run is
    recorded with its result (when the window bounded the wait, this non-idempotent run was
    recorded as lost while it still ran; an idempotent one was dispatched again)."""
    started, record, ran = _forwarded_then_killed(
        tmp_path, db, redis, 8.0, ("--heartbeat-timeout", "3", "--reconnect-cap", "0"))
    _recorded_once(record, ran, started)


def _forwarded_then_killed(tmp_path: Path, db: str, redis: Redis, sleep_s: float,
                           options: tuple[str, ...] = ()
                           ) -> tuple[str, dict[str, Any], list[str]]:
    """c0 forwards a run of ``sleep_s`` to dev-b, held by c1, and is killed 0.5 s later:
    the activation's id, its record (read through c1) and the ids that ran."""
    ran = tmp_path / "ran.log"
    ran.touch()
    with Cluster(tmp_path, 3, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED, *options)) as cluster, \
            cluster[1].client() as c1, cluster[0].client() as c0:
        device = agent(cluster, c1, "dev-b", [1], tmp_path, "--no-sandbox")
        try:
            device.wait_registered()
            c0.actions.put("work", {"exec": {"kind": "python:3", "code": CODE},
                                    "limits": {"memory": 128}})
            wait_for_peer(c0, "dev-b")
            started = c0.actions.start("work", {"sleep": sleep_s, "ran": str(ran)})
            time.sleep(0.5)  # forwarded, running on the device
            cluster.kill(0)
            record = c1.activations.wait(started, 30.0 + sleep_s)
        finally:
            device.stop()
    return started, record, ran.read_text().split()


def test_a_taker_killed_while_it_waits_leaves_the_work_to_the_next(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """c0 runs work on dev-a and dies; dev-a registers with c1, which takes c0 over and waits
    for the run's result, then dies too; dev-a registers with c2, which takes over c1 and what
    c1 had taken over and not finished: c0's run is recorded with the result dev-a delivers,
    having run once (it was left accepted, never recorded, before)."""
    ran = tmp_path / "ran.log"
    ran.touch()
    with Cluster(tmp_path, 3, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster, \
            cluster[0].client() as c0, cluster[2].client() as c2:
        device = agent(cluster, c0, "dev-a", [0, 1, 2], tmp_path, "--no-sandbox")
        try:
            device.wait_registered()
            c0.actions.put("work", {"exec": {"kind": "python:3", "code": CODE},
                                    "limits": {"memory": 128}})
            started = c0.actions.start("work", {"sleep": 8.0, "ran": str(ran)})
            time.sleep(0.5)  # running on the device
            cluster.kill(0)
            device.wait_registered(2, timeout_s=10)  # with c1, which took c0 over
            record = _c1_killed(cluster, device, 3, c2, started)
        finally:
            device.stop()
    _recorded_once(record, ran.read_text().split(), started)


def test_a_holder_dying_before_it_answers_a_dead_controller_leaves_the_result_to_the_device(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """c0 forwards a run to dev-b, held by c1, and dies; once c0's work is taken over (by c1
    or c2), c1 dies before answering: dev-b registers with c2 holding the result, which c2
    records, the run having run once (when c2 was the taker, it waited for c1's answer to the
    run's time limit plus 300 s before)."""
    ran = tmp_path / "ran.log"
    ran.touch()
    with Cluster(tmp_path, 3, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1, \
            cluster[2].client() as c2, redis_py.Redis.from_url(redis.uri) as r:
        device = agent(cluster, c1, "dev-b", [1, 2], tmp_path, "--no-sandbox")
        try:
            device.wait_registered()
            c0.actions.put("work", {"exec": {"kind": "python:3", "code": CODE},
                                    "limits": {"memory": 128}})
            wait_for_peer(c0, "dev-b")
            started = c0.actions.start("work", {"sleep": 5.0, "ran": str(ran)})
            time.sleep(0.5)  # forwarded, running on dev-b
            listed = keys.listed("c0", int(r.get(keys.incarnation("c0")) or 0))
            cluster.kill(0)
            deadline = time.monotonic() + 10
            while not r.exists(listed) and time.monotonic() < deadline:
                time.sleep(0.05)  # the taker waits for the answer from here on
            record = _c1_killed(cluster, device, 2, c2, started)
        finally:
            device.stop()
    _recorded_once(record, ran.read_text().split(), started)


def _recorded_once(record: dict[str, Any], ran: list[str], started: str) -> None:
    """``started`` is recorded with the device's result and ran once, in OpenWhisk's shape
    (the taker's ``owner`` and ``incarnation`` stay on the accepted document)."""
    assert record["response"]["success"] is True, record
    assert record["response"]["result"] == {"done": True}
    assert set(record) <= RECORD_FIELDS, set(record) - RECORD_FIELDS
    assert ran == [started]


def _c1_killed(cluster: Cluster, device: Agent, registrations: int, client: Client,
               started: str) -> dict[str, Any]:
    """SIGKILL c1; once ``device`` registered (for the ``registrations``-th time: with c2),
    ``started``'s record as ``client`` reads it."""
    cluster.kill(1)
    device.wait_registered(registrations, timeout_s=10)
    return client.activations.wait(started, 30.0)
