"""Records written behind the answer: a blocking invoke answers before its record's write
commits, and that costs nothing in correctness. Whoever waits with ``written`` (as every reader
of activations does) finds the record; closing the dispatcher stores every answered record;
each activation is stored exactly once."""

from __future__ import annotations

import asyncio

from edgewhisk_controller.schema import activation as act

from .conftest import NS, SUBJECT, Env, Run

NOOP = "def main(args):\n    return {'n': args.get('n')}\n"


def test_an_answered_activation_is_found_once_its_reader_waits_for_written(
    make_env, run: Run
) -> None:
    env: Env = make_env()

    async def scenario() -> list[tuple[dict, dict]]:
        action = await env.put_action("noop", NOOP)
        pairs = []
        for n in range(20):
            inv = await env.dispatcher.invoke(NS, action, {"n": n}, subject=SUBJECT,
                                              blocking=True, wait_s=60)
            await env.dispatcher.written(inv.activation_id)
            stored = act.from_doc(await env.store.get(act.COLLECTION, inv.activation_id))
            assert inv.record is not None
            pairs.append((inv.record, stored))
        return pairs

    for answered, stored in run(scenario()):
        assert stored == answered


def test_closing_right_after_the_answers_stores_every_record_exactly_once(
    make_env, run: Run
) -> None:
    env: Env = make_env()

    async def scenario() -> tuple[list[str], list[str]]:
        action = await env.put_action("noop", NOOP)
        answers = await asyncio.gather(*(
            env.dispatcher.invoke(NS, action, {"n": n}, subject=SUBJECT, blocking=True,
                                  wait_s=60)
            for n in range(8)))
        await env.dispatcher.close()  # no written(): close itself waits for the writes
        stored = [doc["_id"] for doc in await env.store.list(act.COLLECTION)]
        return sorted(a.activation_id for a in answers), sorted(stored)

    answered, stored = run(scenario())
    assert stored == answered and len(set(stored)) == 8


def test_written_without_pending_writes_returns_at_once(make_env, run: Run) -> None:
    env: Env = make_env()

    async def scenario() -> None:
        await asyncio.wait_for(env.dispatcher.written(), 1)
        await asyncio.wait_for(env.dispatcher.written("no-such-activation"), 1)

    run(scenario())
