"""PendingWork's index: a change re-tries only the pending activations it may unblock.

Against the real placement engine (``placement.Engine``): activations whose hard constraints
no invoker satisfies wait under the fields their excluding constraints read; heartbeats that
change nothing they wait for re-try none of them (``retries`` counts every placement tried
again), a context change re-tries those waiting on it and places the ones it unblocks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from edgewhisk_controller.dispatch.exceptions import PendingCancelled, PendingExpired
from edgewhisk_controller.dispatch.pending import PendingWork, Waiting, now_ms, waits_on
from edgewhisk_controller.placement import Constraint, Constraints, Engine, InvokerState
from edgewhisk_controller.placement import constraints as c
from edgewhisk_controller.placement.interface import PlacementRequest, Unschedulable

REQUEST = PlacementRequest("guest/retrain", "python:3", 128, "guest", version="0.0.1")
CHARGING = Constraints((Constraint(c.DeviceStateArgs("charging", True), True),))
HOME = Constraints((Constraint(c.NetworkMembershipArgs(("home",)), True),))


def phone(id: str, **context: Any) -> InvokerState:
    return InvokerState(id, frozenset({"python:3"}), 1024, 1024, 0, role="edge", battery=0.5,
                        charging=False, **context)


def waiting(engine: Engine, pending: PendingWork, activation_id: str, bound: Constraints,
            until_s: float = 60.0) -> asyncio.Task[str]:
    first = engine.place(REQUEST, bound)
    assert isinstance(first, Unschedulable)
    item = Waiting(activation_id, "guest", REQUEST.action, now_ms(),
                   now_ms() + int(until_s * 1000), lambda: engine.place(REQUEST, bound),
                   REQUEST.memory_mb, REQUEST.key, first,
                   asyncio.get_running_loop().create_future())
    return asyncio.get_running_loop().create_task(pending.wait(item))


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_only_the_changes_waited_for_retry_pending_work() -> None:
    async def main() -> None:
        engine = Engine()
        engine.register(phone("p1"))
        engine.register(phone("p2"))
        pending = PendingWork(engine)
        charging = [waiting(engine, pending, f"c{i}", CHARGING) for i in range(50)]
        home = [waiting(engine, pending, f"h{i}", HOME) for i in range(50)]
        await settle()
        tried = pending.retries  # each one is tried once as it starts waiting
        assert tried == 100
        for _ in range(100):  # heartbeats and completions that change nothing waited for
            engine.heartbeat("p1", free_memory_mb=512, in_flight=1, healthy=True)
            engine.heartbeat("p2", battery=0.4, labels={"room": "kitchen"})
            engine.observe_rtt("p1", 30.0)
        await settle()
        assert pending.retries == tried  # nothing per pending activation
        engine.heartbeat("p2", charging=True)  # plugged in: only the charging ones re-try
        await settle()
        assert pending.retries == tried + 50
        assert [await task for task in charging] == ["p2"] * 50  # queued beyond its memory
        assert sum(task.done() for task in home) == 0
        assert sorted(pending.items) == sorted(f"h{i}" for i in range(50))
        for task in home:
            task.cancel()
        await asyncio.gather(*home, return_exceptions=True)
        assert pending.items == {} and pending.filed() == 0

    asyncio.run(main())


def test_a_registration_retries_everything_and_charges_the_invoker() -> None:
    async def main() -> None:
        engine = Engine()
        pending = PendingWork(engine)
        tasks = [waiting(engine, pending, f"a{i}", HOME) for i in range(3)]
        await settle()
        engine.register(phone("home-phone", networks=frozenset({"home"})))
        assert [await t for t in tasks] == ["home-phone"] * 3
        row = engine.state.index["home-phone"]
        assert engine.state.cols["free_memory_mb"][row] == 1024 - 3 * 128  # charged

    asyncio.run(main())


def test_a_wait_expires_or_is_cancelled_with_what_it_waited_for() -> None:
    async def main() -> None:
        engine = Engine()
        engine.register(phone("p1"))
        pending = PendingWork(engine)
        expiring = waiting(engine, pending, "e1", CHARGING, until_s=0.05)
        cancelled = waiting(engine, pending, "x1", CHARGING)
        await settle()
        assert pending.cancel("x1") and not pending.cancel("x1") and not pending.cancel("nope")
        with pytest.raises(PendingCancelled) as why:
            await cancelled
        assert why.value.info["waiting_for"] == ["failing context(charging)"]
        with pytest.raises(PendingExpired) as why_expired:
            await expiring
        assert why_expired.value.info["reason"] == \
            "0/1 invokers are available: 1 failing context(charging)."
        assert pending.items == {}

    asyncio.run(main())


def test_what_each_constraint_waits_on() -> None:
    assert waits_on([c.DEVICE_STATE]) == {"charging", "idle", "metered"}
    assert waits_on([c.NETWORK_MEMBERSHIP, c.HEALTH]) == {"networks", "healthy"}
    assert waits_on(["SomeNewPlugin"]) == {"*"}  # unknown: any change re-tries it
    assert waits_on([]) == {"*"}
