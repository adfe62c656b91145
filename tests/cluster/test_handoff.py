"""A device whose link to its controller breaks registers with another controller while the
first lives on (``cluster/handoff.py``): the results it holds for the first one's runs reach
it, instead of being dropped where the device registered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from edgewhisk_client import Client
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.claims import Claims
from edgewhisk_controller.cluster.routing import Routing
from edgewhisk_devkit import UNLIMITED, Agent, Cluster, Redis, Relay

from .conftest import agent, holder, status, wait_for_peer
from .test_restart import _until

CODE = ("import os, time\n"
        "def main(args):\n"
        "    open(args['started'], 'w').close()\n"
        "    time.sleep(args['sleep'])\n"
        "    with open(args['ran'], 'a') as ran:\n"
        "        ran.write(os.environ['__OW_ACTIVATION_ID'] + '\\n')\n"
        "    return {'done': True}\n")


@dataclass
class Moved:
    """dev-a, left c0 for c1 while running c0's activation ``started``."""

    cluster: Cluster
    c0: Client
    c1: Client
    relays: list[Relay]  # dev-a's links to c0 and c1
    device: Agent
    started: str
    ran: Path  # the activation ids the action ran, one per line


@contextlib.contextmanager
def moved(tmp_path: Path, db: str, redis: Redis, sleep_s: float, controllers: int = 2,
          options: tuple[str, ...] = ()) -> Iterator[Moved]:
    """``controllers`` controllers (with ``options``), dev-a linked to each through a relay
    (dialled in their order), running c0's activation (for ``sleep_s``) when its link to c0
    breaks (cut and refusing: c0 lives, unreachable from the device): yielded once dev-a has
    registered with c1, the run still going on."""
    ran, began = tmp_path / "ran.log", tmp_path / "started"
    ran.touch()
    with Cluster(tmp_path, controllers, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED, *options)) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        relays = [Relay(controller.port).start() for controller in cluster.controllers]
        device = agent(cluster, c0, "dev-a", [], tmp_path, "--no-sandbox",
                       "--backoff-cap", "0.5", urls=[relay.url for relay in relays])
        try:
            device.wait_registered()
            c0.actions.put("work", {"exec": {"kind": "python:3", "code": CODE},
                                    "limits": {"memory": 128, "timeout": 15_000}})
            wait_for_peer(c1, "dev-a")  # c1 knows c0 holds it
            started = c0.actions.start("work", {"sleep": sleep_s, "ran": str(ran),
                                                "started": str(began)})
            _until(began.exists, 10.0)  # running on dev-a
            _cut(relays[0])
            device.wait_registered(2, timeout_s=10)  # with c1, still running it
            yield Moved(cluster, c0, c1, relays, device, started, ran)
        finally:
            device.stop()
            for relay in relays:
                relay.stop()


@pytest.mark.parametrize(("back", "known"), [(False, True), (True, True), (True, False)],
                         ids=["to c1", "to c1 and back to c0", "to c1 and straight back"])
def test_a_device_leaving_a_live_controller_delivers_its_results_to_it(
        tmp_path: Path, db: str, redis: Redis, back: bool, known: bool) -> None:
    """c1, where dev-a registered having left c0 (``moved``), asks c0 for the runs it sent
    dev-a before the registration is handled, adopts them, and sends c0 the outcome dev-a
    delivers: c0 records the activation with dev-a's result, run once, and c0 no longer
    counts dev-a its own. Before, c1 dropped the result as unknown and c0 waited for a device
    that was gone (no record within 30 s; lost once dev-a counted offline there). ``back``:
    dev-a's link to c1 breaks too, before the run ends, and it returns to c0, which takes the
    run back from c1 (c1 relays the outcome to it). Not ``known``: dev-a returns at once,
    often before c0 has seen that c1 holds it (c1 publishes its devices every 0.25 s; about
    one run in four here): c0 then waits for the run it handed over at its own hub again
    (``Handoff.returning``: taken back, not handed back), and the result dev-a brings back
    ends it; before, c0 dropped that result as unknown and recorded the run lost (a whisk
    internal error) once dev-a counted offline. Otherwise it is the case before."""
    with moved(tmp_path, db, redis, 6.0 if back else 3.0) as it:
        if known:
            wait_for_peer(it.c0, "dev-a")  # c0 knows c1 holds it
        if back:
            it.relays[0].refusing = False
            _cut(it.relays[1])
            it.device.wait_registered(3, timeout_s=10)  # with c0 again, still running it
        record = it.c0.activations.wait(it.started, 30.0)
        left, joined = status(it.c0).get("handoffs"), status(it.c1).get("handoffs")
        if back:
            _until(lambda: holder(it.cluster, "dev-a") == 0, 5.0)
        else:
            wait_for_peer(it.c0, "dev-a")  # c0 no longer counts it its own
    assert record["response"]["success"], record["response"]
    assert record["response"]["result"] == {"done": True}
    assert it.ran.read_text().split() == [it.started]
    handed_back = joined["handed"] if back and not known else int(back)
    assert left == {"handed": 1, "taken": handed_back}
    assert joined == {"handed": handed_back, "taken": 1}


def test_runs_handed_to_a_controller_that_dies_come_back_with_the_device(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """dev-a left c0 for c1 while it runs c0's activation (``moved``: c0 handed the run
    over); c1 is SIGKILLed before the run ends and dev-a comes back to c0, the result in
    hand: c0 waits for it at its own hub (``Handoff.returning``, or once it sees c1 gone) and
    records the activation with dev-a's result, run once. Before, c0 recorded it lost as
    soon as c1 was gone (a whisk internal error), and dropped the result dev-a brought back
    as late."""
    with moved(tmp_path, db, redis, 5.0) as it:
        it.cluster.kill(1)
        it.relays[0].refusing = False
        it.device.wait_registered(3, timeout_s=10)  # with c0 again
        record = it.c0.activations.wait(it.started, 30.0)
        left = status(it.c0)["handoffs"]
    assert record["response"]["success"], record["response"]
    assert record["response"]["result"] == {"done": True}
    assert it.ran.read_text().split() == [it.started]
    assert left == {"handed": 1, "taken": 0}


@pytest.mark.parametrize(("seen", "window_s"), [(True, None), (False, None), (True, 3)],
                         ids=["c2 saw c1 hold it", "at once", "past c0's window"])
def test_runs_handed_to_a_controller_that_dies_reach_their_controller_from_a_third(
        tmp_path: Path, db: str, redis: Redis, seen: bool, window_s: int | None) -> None:
    """dev-a left c0 for c1 while it runs c0's activation (``moved``: c0 handed the run over
    and listed it in Redis); c1 is SIGKILLed before the run ends and dev-a, its link to c0
    still cut, registers with c2: c2 adopts the listed run before the registration is handled
    (``Adoption.take_listed``) and sends c0 the outcome dev-a delivers; c0 records the
    activation with dev-a's result, run once. Before, only c0 could take the result (the
    device had to come back to it): c2 dropped it as unknown, and c0 recorded the run failed
    once its window for dev-a was over. ``seen``: c2 knew c1 held dev-a (it takes c1 over);
    else c1 is killed at once, often before c2 saw it hold dev-a (c2 then asks c0, which
    hands nothing over: the listing is all there is). ``window_s``: c0 waits that long for
    dev-a to come back with the run once it sees c1 gone (``--heartbeat-timeout``,
    ``--reconnect-cap 0``), and the run goes on well past it: its wait ending does not end
    the run, c2 having adopted it (``Handoff._unless_adopted``); before, c0 recorded it
    failed then ("it did not reconnect within 3 s")."""
    options = () if window_s is None else ("--heartbeat-timeout", str(window_s),
                                           "--reconnect-cap", "0")
    with moved(tmp_path, db, redis, 5.0 if window_s is None else 10.0, 3, options) as it:
        if seen:
            with it.cluster[2].client() as c2:
                wait_for_peer(c2, "dev-a", controller="c1")
        it.cluster.kill(1)
        it.device.wait_registered(3, timeout_s=10)  # with c2: c0 is still cut
        record = it.c0.activations.wait(it.started, 30.0)
        assert holder(it.cluster, "dev-a") == 2
        with it.cluster[2].client() as c2:
            adopted = status(c2)["adopted"]
        left = status(it.c0)["handoffs"]
    assert record["response"]["success"], record["response"]
    assert record["response"]["result"] == {"done": True}
    assert it.ran.read_text().split() == [it.started]
    assert (left, adopted) == ({"handed": 1, "taken": 0}, 1)


def test_a_handoff_asked_before_the_device_came_back_leaves_it_connected(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """A handoff request about dev-a from a controller where it registered before its
    registration here (its number in ``keys.REGISTRATIONS`` is smaller: the device gave up
    a held registration there and came back) is answered with nothing and leaves dev-a's
    connection here open; one from a later registration hands it off: its connection here
    closes as replaced (the agent, still connected, takes that for a second instance of
    itself and exits). Before, both closed the connection. The asker is a ``Routing`` on the
    cluster's Redis, as another controller's is."""
    with Cluster(tmp_path, 1, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster, \
            cluster[0].client() as c0:
        asyncio.run(_registered_before(redis, "dev-a", 5))  # with cx, say
        device = agent(cluster, c0, "dev-a", [0], tmp_path, "--no-sandbox")
        try:
            device.wait_registered()
            stale = asyncio.run(_handoff(redis, "dev-a", -1))  # cx's, the 5th
            time.sleep(1.0)  # a closed connection would have been seen by now
            kept = device.child.poll() is None and "REPLACED" not in device.log()
            fresh = asyncio.run(_handoff(redis, "dev-a", +1))
            device.wait_exit(10)
        finally:
            device.stop()
    assert (stale, kept) == ("{}", True)
    assert fresh == "{}"  # no runs to hand over, the connection closed all the same
    assert "REPLACED (4009) the invoker registered with controller cx" in device.log()


async def _registered_before(redis: Redis, device: str, times: int) -> None:
    client = aioredis.from_url(redis.uri, decode_responses=True)
    try:
        await client.hset(keys.REGISTRATIONS, device, times)
    finally:
        await client.aclose()


async def _handoff(redis: Redis, device: str, later: int) -> str | None:
    """Ask c0 for ``device`` as controller cx would, ``later`` registrations after the
    device's latest; the answer's text (None: none)."""
    client = aioredis.from_url(redis.uri, decode_responses=True)
    asker = Routing("cx", client, lambda id: None, Claims(client),
                    corrected=lambda id, free: None)
    replies = asyncio.create_task(asker.read_replies())
    try:
        here = int(await client.hget(keys.REGISTRATIONS, device))
        return await asker.ask("c0", "handoff", {
            "device": device, "registration": str(here + later)}, 5.0)
    finally:
        while not replies.done():  # redis' client may swallow one cancellation
            replies.cancel()
            await asyncio.sleep(0.05)
        await asker.close()
        await client.aclose()


def _cut(relay: Relay) -> None:
    """The device's link through ``relay`` breaks, and stays broken."""
    relay.refusing = True
    relay.cut()


def test_a_request_is_answered_and_an_unknown_one_dropped(
        redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    """On a real Redis, without controllers: what one controller asks another through its
    run stream (``Routing.ask``, the handoff's request) reaches the handler of its name and
    the answer comes back; a request nobody handles, one whose handler fails and one without
    its id are each logged and removed from the stream, the holder serving on, and their
    asker gets None once its wait is over, not an exception."""
    async def scenario() -> None:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        asker, holder = (Routing(me, client, lambda id: None, Claims(client),
                                 corrected=lambda id, free: None) for me in ("a", "h"))

        async def echo(fields: dict[str, str]) -> str:
            return f"{fields['device']} from {fields['reply']}"

        holder.requests["echo"] = echo
        holder.requests["broken"] = echo  # reads a field its asker does not send
        loops = [asyncio.create_task(asker.read_replies()), asyncio.create_task(holder.serve())]
        try:
            while asker.last_reply is None or not await client.exists(keys.runs("h")):
                await asyncio.sleep(0.01)  # both loops set up (the holder's group at "$")
            assert await asker.ask("h", "echo", {"device": "dev-a"}, 5.0) == "dev-a from a"
            assert await asker.ask("h", "nobody", {"device": "dev-a"}, 0.5) is None
            assert await asker.ask("h", "broken", {}, 0.5) is None
            await client.xadd(keys.runs("h"), {"request": "echo", "reply": "a"})  # no id
            assert await asker.ask("h", "echo", {"device": "dev-b"}, 5.0) == "dev-b from a"
            for _ in range(100):  # each entry goes once answered (its answer comes first)
                if not await client.xlen(keys.runs("h")):
                    break
                await asyncio.sleep(0.05)
            assert await client.xlen(keys.runs("h")) == 0
            assert asker.waiting == {}
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await asker.close()
            await holder.close()
            await client.delete(keys.runs("h"), keys.replies("a"))
            await client.aclose()

    with caplog.at_level(logging.ERROR, "edgewhisk_controller.cluster.routing"):
        asyncio.run(scenario())
    assert "dropped an unknown request 'nobody' from a" in caplog.text
    assert "the 'broken' request from a failed" in caplog.text
    assert "dropped a malformed request 'echo' from a" in caplog.text
