"""Acknowledged work is on disk before it is acknowledged (``dispatch/journal.py``).

A non-blocking invoke returns only once its ``accepted`` document is stored (and a store that
cannot take it refuses the invoke: nothing runs); a blocking one returns its record only once
the record is stored, and the ``accepted`` document goes in the same commit; a blocking wait
that ends first hands the id out only once it is accepted. ``durable=False`` keeps the previous
behaviour for the benchmark: records behind the answers, found by readers that call
``written``. Every activation is stored exactly once in both modes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from edgewhisk_controller.dispatch import Dispatcher, Invocation
from edgewhisk_controller.placement import Engine
from edgewhisk_controller.schema import activation as act
from edgewhisk_controller.stores import NotFound, StoreUnavailable, open_store

from .conftest import API_HOST, NS, SUBJECT, Env, Run

NOOP = "def main(args):\n    return {'n': args.get('n')}\n"
SLOW = "import time\n\ndef main(args):\n    time.sleep(args.get('s', 1))\n    return {}\n"


async def _exists(env: Env, coll: str, activation_id: str) -> bool:
    try:
        await env.store.get(coll, activation_id)
        return True
    except NotFound:
        return False


def test_a_blocking_answer_comes_after_its_record_is_stored(make_env, run: Run) -> None:
    env: Env = make_env()

    async def scenario() -> list[tuple[dict, dict, bool]]:
        action = await env.put_action("noop", NOOP)
        seen = []
        for n in range(10):
            inv = await env.dispatcher.invoke(NS, action, {"n": n}, subject=SUBJECT,
                                              blocking=True, wait_s=60)
            stored = act.from_doc(await env.store.get(act.COLLECTION, inv.activation_id))
            assert inv.record is not None
            seen.append((inv.record, stored,
                         await _exists(env, act.ACCEPTED, inv.activation_id)))
        return seen

    for answered, stored, accepted in run(scenario()):
        assert stored == answered
        assert not accepted, "a blocking invoke answered in time never needs an accepted doc"


def test_a_non_blocking_invoke_returns_once_accepted_and_the_record_replaces_it(
    make_env, run: Run
) -> None:
    env: Env = make_env()

    async def scenario() -> tuple[dict, bool, bool]:
        action = await env.put_action("slow", SLOW)
        inv = await env.dispatcher.invoke(NS, action, {"s": 0.5}, subject=SUBJECT,
                                          blocking=False, wait_s=60)
        accepted = await env.store.get(act.ACCEPTED, inv.activation_id)
        record = await env.record(inv.activation_id)
        await env.dispatcher.written()
        return accepted, await _exists(env, act.ACCEPTED, inv.activation_id), \
            record["response"]["success"]

    accepted, still_there, success = run(scenario())
    assert {k: accepted[k] for k in ("namespace", "name", "version", "subject", "payload",
                                     "blocking", "api_key", "composition")} == {
        "namespace": NS, "name": "slow", "version": "0.0.1", "subject": SUBJECT,
        "payload": {"s": 0.5}, "blocking": False, "api_key": False, "composition": False}
    assert "invoker" not in accepted, "a local invoker dies with the controller"
    assert success and not still_there


def test_a_blocking_wait_that_ends_first_hands_out_an_accepted_id(make_env, run: Run) -> None:
    env: Env = make_env()

    async def scenario() -> tuple[Invocation, bool]:
        action = await env.put_action("slow", SLOW)
        inv = await env.dispatcher.invoke(NS, action, {"s": 1}, subject=SUBJECT,
                                          blocking=True, wait_s=0.1)
        return inv, await _exists(env, act.ACCEPTED, inv.activation_id)

    inv, accepted = run(scenario())
    assert inv.record is None and accepted


def test_a_store_that_cannot_accept_refuses_the_invoke_and_nothing_runs(
    tmp_path: Path, make_env, run: Run
) -> None:
    env: Env = make_env()

    effect = tmp_path / "ran"

    async def scenario() -> None:
        action = await env.put_action("effect", f"def main(args):\n    open({str(effect)!r}, "
                                      "'a').write('ran')\n    return {}\n")
        (tmp_path / "a-file").write_text("not a folder")
        broken = open_store(f"sqlite://{tmp_path}/a-file/store.sqlite3")
        dispatcher = Dispatcher(broken, env.registry, Engine(), api_host=API_HOST)
        try:
            with pytest.raises(StoreUnavailable):
                await dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=False,
                                        wait_s=60)
            await asyncio.sleep(1.5)  # an activation started anyway would have run by now
        finally:
            await dispatcher.close(grace_s=0)
            await broken.close()

    run(scenario())
    assert not effect.exists()


@pytest.mark.parametrize("durable", [pytest.param(True, id="durable"),
                                     pytest.param(False, id="records behind the answers")])
def test_closing_right_after_the_answers_stores_every_record_exactly_once(
    make_env, run: Run, durable: bool
) -> None:
    env: Env = make_env(durable=durable)

    async def scenario() -> tuple[list[str], list[str], int]:
        action = await env.put_action("noop", NOOP)
        answers = await asyncio.gather(*(
            env.dispatcher.invoke(NS, action, {"n": n}, subject=SUBJECT, blocking=n % 2 == 0,
                                  wait_s=60)
            for n in range(8)))
        await env.dispatcher.close()  # no written(): close itself waits for the writes
        stored = [doc["_id"] for doc in await env.store.list(act.COLLECTION)]
        return sorted(a.activation_id for a in answers), sorted(stored), \
            await env.store.count(act.ACCEPTED)

    answered, stored, accepted = run(scenario())
    assert stored == answered and len(set(stored)) == 8 and accepted == 0


def test_records_behind_the_answers_are_found_by_readers_that_wait_for_written(
    make_env, run: Run
) -> None:
    env: Env = make_env(durable=False)

    async def scenario() -> list[tuple[dict, dict]]:
        action = await env.put_action("noop", NOOP)
        pairs = []
        for n in range(10):
            inv = await env.dispatcher.invoke(NS, action, {"n": n}, subject=SUBJECT,
                                              blocking=True, wait_s=60)
            await env.dispatcher.written(inv.activation_id)
            stored = act.from_doc(await env.store.get(act.COLLECTION, inv.activation_id))
            assert inv.record is not None
            pairs.append((inv.record, stored))
        await asyncio.wait_for(env.dispatcher.written(), 1)
        await asyncio.wait_for(env.dispatcher.written("no-such-activation"), 1)
        return pairs

    for answered, stored in run(scenario()):
        assert stored == answered


