"""A dead controller's device registers with a controller other than the one that took the
dead one over: that controller adopts the run the taker waits for, and the taker records the
device's result within seconds, not after the 40 s reclaim window (``cluster/adoption.py``)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from signal import SIGCONT, SIGSTOP

import pytest
import redis as redis_py
import redis.asyncio as aioredis
from edgewhisk_controller.cluster import adoption, keys
from edgewhisk_controller.cluster.adoption import Adoption
from edgewhisk_controller.cluster.claims import Claims
from edgewhisk_controller.cluster.node import ClusterNode
from edgewhisk_controller.cluster.routing import Routing
from edgewhisk_controller.cluster.takeover import Takeover
from edgewhisk_controller.invokers import InvokerRegistry
from edgewhisk_controller.placement import Engine, PlacementConfig
from edgewhisk_controller.tunnel.exceptions import InvokerLost
from edgewhisk_devkit import UNLIMITED, Cluster, Redis
from edgewhisk_runtime.containers import RunOutcome

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



def test_a_taker_listing_after_the_device_came_back_elsewhere_stops_waiting_at_once(
        redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """The adoption protocol on a real Redis, both orders, deterministic (in a cluster the
    order depends on how long the taker's recovery reads the store). c2's hub is stood in
    for by a callable that hands out the futures a device's result would end.

    - Listed first (c1 took c9 over): c2, where the device registers, adopts the run and its
      outcome reaches c1's wait through c1's reply stream.
    - Listed after the device came back at c2 (c1 took c0 over, slower than c2 waited): c2
      marked the device back, so c1's listing finds the mark and its wait ends with
      ``InvokerLost`` naming c2, instead of after the 40 s window."""
    monkeypatch.setattr(adoption, "LISTED_WAIT_S", 0.2)  # c2's wait for a listing: short

    async def scenario() -> RunOutcome:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        loop = asyncio.get_running_loop()
        taker, adopter, handed = _taker_and_adopter(client)
        try:
            listed_first = taker.wanted(loop.create_future(), "c9", 1, "dev", "a1", 128, 1024,
                                        (), 40.0)
            await taker.listed("c9", 1, asyncio.sleep(0))
            assert await adopter.adopt("dev", "c9", 1) == 1 and list(handed) == ["a1"]
            outcome = RunOutcome(200, {"done": True}, [], False, None, 5, "c-1")
            handed["a1"].set_result(outcome)
            got = await asyncio.wait_for(listed_first, 10)

            assert await adopter.adopt("dev", "c0", 1) == 0  # nothing listed for c0 yet
            listed_late = taker.wanted(loop.create_future(), "c0", 1, "dev", "a2", 128, 1024,
                                       (), 40.0)
            with pytest.raises(InvokerLost, match="registered with controller c2 before "
                                                  "the takeover listed the activation"):
                await asyncio.wait_for(listed_late, 5)
            assert list(handed) == ["a1"]  # a2 was never adopted
            return got
        finally:
            await taker.close()
            await adopter.close()
            await client.delete(keys.reclaims("dev"), keys.listed("c9", 1), keys.replies("c1"))
            await client.aclose()

    got = asyncio.run(scenario())
    assert (got.status, got.response) == (200, {"done": True})


def test_a_device_back_elsewhere_after_an_earlier_death_is_adopted_again(
        redis: Redis) -> None:
    """c0 died: c1 took it over and listed a run of dev, which came back at c2 (adopted, and
    marked back). c0 started again, held dev again and died again: c1's new takeover lists
    a2, and dev, back at c2, has it adopted again, its outcome reaching c1. The first death's
    marks (listed, came back) are of that takeover: read by the second, the adopter did not
    wait for the new listing, and the taker's listing found the old mark and ended its wait
    at once (``InvokerLost``), the result the device held dropped."""
    async def scenario() -> RunOutcome:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        loop = asyncio.get_running_loop()
        taker, adopter, handed = _taker_and_adopter(client)
        outcome = RunOutcome(200, {"done": True}, [], False, None, 5, "c-1")
        try:
            first = taker.wanted(loop.create_future(), "c0", 1, "dev", "a1", 128, 1024, (),
                                 40.0)
            await taker.listed("c0", 1, asyncio.sleep(0))
            assert await adopter.adopt("dev", "c0", 1) == 1
            handed["a1"].set_result(outcome)
            await asyncio.wait_for(first, 10)

            adopting = asyncio.create_task(adopter.adopt("dev", "c0", 2))  # before the listing
            second = taker.wanted(loop.create_future(), "c0", 2, "dev", "a2", 128, 1024, (),
                                  40.0)
            await taker.listed("c0", 2, asyncio.sleep(0))
            assert await asyncio.wait_for(adopting, 10) == 1 and list(handed) == ["a1", "a2"]
            handed["a2"].set_result(outcome)
            return await asyncio.wait_for(second, 10)
        finally:
            await taker.close()
            await adopter.close()
            await client.delete(keys.reclaims("dev"), keys.listed("c0", 1),
                                keys.listed("c0", 2), keys.replies("c1"))
            await client.aclose()

    got = asyncio.run(scenario())
    assert (got.status, got.response) == (200, {"done": True})


def test_an_adopted_run_outlasting_the_takers_window_is_awaited_from_the_adopter(
        redis: Redis) -> None:
    """The taker's own hub gives up on the device (its reclaim window is over, the device
    being at c2) while the run c2 adopted still runs: the taker waits on for c2's answer
    and records it, instead of counting the run lost at the window (recorded failed, or an
    idempotent one run a second time). A run nobody adopted is lost at the window as before."""
    async def scenario() -> tuple[RunOutcome, InvokerLost]:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        loop = asyncio.get_running_loop()
        taker, adopter, handed = _taker_and_adopter(client)
        window = InvokerLost("dev", "it did not reconnect within 40 s")
        try:
            here = loop.create_future()
            adopted = taker.wanted(here, "c7", 1, "dev", "a1", 128, 1024, (), 40.0)
            await taker.listed("c7", 1, asyncio.sleep(0))
            assert await adopter.adopt("dev", "c7", 1) == 1
            here.set_exception(window)  # the taker's window is over; a1 runs on at c2
            handed["a1"].set_result(RunOutcome(200, {"done": True}, [], False, None, 5,
                                               "c-1"))
            got = await asyncio.wait_for(adopted, 10)

            here = loop.create_future()
            unadopted = taker.wanted(here, "c8", 1, "dev", "a2", 128, 1024, (), 40.0)
            await asyncio.wait_for(_listed(client, "dev", "a2"), 10)  # the device: nowhere
            here.set_exception(window)
            with pytest.raises(InvokerLost) as lost:
                await asyncio.wait_for(unadopted, 10)  # under the 40 s the answer may take
            return got, lost.value
        finally:
            await taker.close()
            await adopter.close()
            await client.delete(keys.reclaims("dev"), keys.listed("c7", 1), keys.replies("c1"))
            await client.aclose()

    got, lost = asyncio.run(scenario())
    assert (got.status, got.response) == (200, {"done": True})
    assert lost is not None and "did not reconnect" in lost.why


def test_a_window_ending_before_the_takers_own_listing_ends_the_wait(
        redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """The device came back to the taker's own hub without the run, so ``here`` failed at
    once, before the taker's listing was written (a slow store or a script Redis had not
    cached yet): nobody adopted it, and the wait ends with that loss. Unlisting before the
    listing found nothing to delete, read it as adopted, and waited for an answer nobody
    would send, the run's whole patience (the SIGKILL test failed so once in 3 runs)."""
    _slowed_listing(monkeypatch)

    async def scenario() -> InvokerLost:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        taker, adopter, _ = _taker_and_adopter(client)
        try:
            here: asyncio.Future[RunOutcome] = asyncio.get_running_loop().create_future()
            here.set_exception(InvokerLost("dev", "it reconnected without the activation"))
            waiting = taker.wanted(here, "c6", 1, "dev", "a1", 128, 1024, (), 30.0)
            with pytest.raises(InvokerLost) as lost:
                await asyncio.wait_for(waiting, 10)  # under the 30 s an answer may take
            return lost.value
        finally:
            await taker.close()
            await adopter.close()
            await client.delete(keys.reclaims("dev"), keys.replies("c1"))
            await client.aclose()

    assert "reconnected without the activation" in asyncio.run(scenario()).why


def _slowed_listing(monkeypatch: pytest.MonkeyPatch, by_s: float = 0.3) -> None:
    """The taker's listing written ``by_s`` late, as a slow store or a script Redis has not
    cached yet makes it."""
    listing = adoption.Adoption._list  # noqa: SLF001

    async def slow(self: Adoption, *args: object) -> str:
        await asyncio.sleep(by_s)
        return await listing(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(adoption.Adoption, "_list", slow)


async def _listed(client: aioredis.Redis, device: str, activation_id: str) -> None:
    """Until a taker listed ``activation_id`` for ``device``'s adopters."""
    while not await client.hexists(keys.reclaims(device), activation_id):
        await asyncio.sleep(0.01)


def _taker_and_adopter(client: aioredis.Redis
                       ) -> tuple[Adoption, Adoption, dict[str, asyncio.Future[RunOutcome]]]:
    """c1's adoption (the taker's) and c2's (where the device registers), c2's hub stood in
    for by a callable that hands out, by activation id, the futures a device's result ends."""
    loop = asyncio.get_running_loop()
    handed: dict[str, asyncio.Future[RunOutcome]] = {}

    def hub(device: str, activation_id: str, *_: object) -> asyncio.Future[RunOutcome]:
        handed[activation_id] = loop.create_future()
        return handed[activation_id]

    taker, adopter = (Adoption(me, client, Routing(me, client, lambda id: None,
                                                   Claims(client, me),
                                                   corrected=lambda id, free: None))
                      for me in ("c1", "c2"))
    adopter.hub = hub
    return taker, adopter, handed


def test_a_run_inherited_from_a_taker_that_died_before_listing_is_listed_again(
        redis: Redis) -> None:
    """c1 took c0 over and died before listing what it waited for from dev; c3, taking c1
    over, inherits c0's run: it lists the run itself, so c2, where dev registers, adopts it
    and c3 records dev's result. Before, an inherited run was awaited only at c3's own hub
    and on the dead controllers' reply streams: with nothing listed, c2 adopted nothing, and
    the run was lost after its whole patience."""
    async def scenario() -> RunOutcome:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        _, adopter, handed = _taker_and_adopter(client)
        taker = ClusterNode("c3", client, InvokerRegistry(), Engine(PlacementConfig()),
                            devices=list)
        never = asyncio.get_running_loop().create_future  # dev does not come to c3
        try:
            reclaim = taker.reclaimer("c0", lambda *_: never(), via="c1", incarnation=1)
            waiting = reclaim("dev", "a1", 128, 1024, (), 30.0)
            await taker.adoption.listed("c0", 1, asyncio.sleep(0))  # as the recovery does
            assert await adopter.adopt("dev", "c0", 1) == 1
            handed["a1"].set_result(RunOutcome(200, {"done": True}, [], False, None, 5,
                                               "c-1"))
            return await asyncio.wait_for(waiting, 10)  # under the 30 s it may take
        finally:
            await taker.adoption.close()
            await adopter.close()
            await client.delete(keys.reclaims("dev"), keys.listed("c0", 1), keys.replies("c3"))
            await client.aclose()

    got = asyncio.run(scenario())
    assert (got.status, got.response) == (200, {"done": True})


def test_a_dead_takers_takeover_is_marked_listed_after_what_it_inherited_is_listed(
        redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """c1 took c0 over and died; c3 takes c1 over and inherits c0. A device c1 held (it
    may hold c0's run too) registering elsewhere is adopted once c1's takeover is marked
    listed: the mark comes after the inherited run's listing (slowed here, as a slow store
    makes it), so the adopter finds that run. Before, c1's own recovery ran and was marked
    first, and the inherited run was listed after the adopter had read the list."""
    _slowed_listing(monkeypatch)

    async def scenario() -> bool:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        taker, _, _ = _taker_and_adopter(client)
        never = asyncio.get_running_loop().create_future

        async def recover(dead: str, upto: int | None, via: str | None) -> str:
            async def recovery() -> str:
                if via == "c1":  # inherited: c0's run on the device c1 held
                    taker.wanted(never(), "c0", upto, "dev", "a1", 128, 1024, (), 30.0)
                return "done"
            return await taker.listed(dead, upto, recovery())

        first, second = Takeover("c1", client, recover), Takeover("c3", client, recover)
        try:
            await client.set(keys.incarnation("c0"), 1)
            await client.set(keys.incarnation("c1"), 2)
            assert await first.take_over("c0", 1)  # c1 took c0 over, then died
            assert await second.take_over("c1", 2)
            while not await client.exists(keys.listed("c1", 2)):
                await asyncio.sleep(0.01)
            return bool(await client.hexists(keys.reclaims("dev"), "a1"))
        finally:
            await first.close()
            await second.close()
            await taker.close()
            await client.delete(keys.reclaims("dev"), keys.listed("c0", 1),
                                keys.listed("c1", 2), keys.takeover("c0"),
                                keys.takeover("c1"), keys.taken("c1"), keys.taken("c3"),
                                keys.incarnation("c0"), keys.incarnation("c1"))
            await client.aclose()

    assert asyncio.run(scenario())
