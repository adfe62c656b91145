"""A device whose link to its controller breaks registers with another controller while the
first lives on (``cluster/handoff.py``): the results it holds for the first one's runs reach
it, instead of being dropped where the device registered."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from edgewhisk_client import Client
from edgewhisk_controller.cluster import keys
from edgewhisk_controller.cluster.claims import Claims
from edgewhisk_controller.cluster.routing import Routing
from edgewhisk_devkit import UNLIMITED, Agent, Cluster, Redis, Relay, tunnel_url

from .test_restart import _until

CODE = ("import os, time\n"
        "def main(args):\n"
        "    open(args['started'], 'w').close()\n"
        "    time.sleep(args['sleep'])\n"
        "    with open(args['ran'], 'a') as ran:\n"
        "        ran.write(os.environ['__OW_ACTIVATION_ID'] + '\\n')\n"
        "    return {'done': True}\n")


def status(client: Client) -> dict[str, Any]:
    return dict(client.request("GET", "cluster").json())


def test_a_device_leaving_a_live_controller_delivers_its_results_to_it(
        tmp_path: Path, db: str, redis: Redis) -> None:
    """dev-a runs c0's activation when its link to c0 breaks (a relay cut and refusing: c0
    lives, unreachable from the device); dev-a registers with c1 while the run goes on. c1
    asks c0 for the runs it sent dev-a before the registration is handled, adopts them, and
    sends c0 the outcome dev-a delivers: c0 records the activation with dev-a's result, run
    once, and c0 no longer counts dev-a its own. Before, c1 dropped the result as unknown
    and c0 waited for a device that was gone (no record within 30 s; lost once dev-a
    counted offline there)."""
    ran = tmp_path / "ran.log"
    ran.touch()
    with Cluster(tmp_path, 2, db=db, redis=redis.uri,
                 options=("--invokers", "0", *UNLIMITED)) as cluster, \
            cluster[0].client() as c0, cluster[1].client() as c1:
        relay = Relay(cluster[0].port).start()
        token = str(c0.tokens.create("dev-a")["token"])
        device = Agent([relay.url, tunnel_url(cluster[1].api_host)], token, "--memory", "512",
                       "--no-battery", "--no-sandbox", "--backoff-cap", "0.5", id="dev-a",
                       log=tmp_path / "invoker-dev-a.log", own_group=True).start()
        try:
            device.wait_registered()
            c0.actions.put("work", {"exec": {"kind": "python:3", "code": CODE},
                                    "limits": {"memory": 128, "timeout": 15_000}})
            _until(lambda: any(i["id"] == "dev-a" and i["where"] == "peer"
                               for i in c1.invokers()), 5.0)  # c1 knows c0 holds it
            started = c0.actions.start("work", {"sleep": 3.0, "ran": str(ran),
                                                "started": str(tmp_path / "started")})
            _until((tmp_path / "started").exists, 10.0)  # running on dev-a
            relay.refusing = True
            relay.cut()
            device.wait_registered(2, timeout_s=10)  # with c1, still running it
            record = c0.activations.wait(started, 30.0)
            left, joined = status(c0).get("handoffs"), status(c1).get("handoffs")
            where = {i["id"]: i["where"] for i in c0.invokers() if i["id"] == "dev-a"}
        finally:
            device.stop()
            relay.stop()
    assert record["response"]["success"], record["response"]
    assert record["response"]["result"] == {"done": True}
    assert ran.read_text().split() == [started]
    assert left == {"handed": 1, "taken": 0}
    assert joined == {"handed": 0, "taken": 1}
    assert where == {"dev-a": "peer"}  # c1's now, as c0 sees it


def test_a_request_is_answered_and_an_unknown_one_dropped(
        redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    """On a real Redis, without controllers: what one controller asks another through its
    run stream (``Routing.ask``, the handoff's request) reaches the handler of its name and
    the answer comes back; a request nobody handles is logged and removed from the stream,
    and its asker gets None once its wait is over, not an exception."""
    async def scenario() -> None:
        client = aioredis.from_url(redis.uri, decode_responses=True)
        asker, holder = (Routing(me, client, lambda id: None, Claims(client),
                                 corrected=lambda id, free: None) for me in ("a", "h"))

        async def echo(fields: dict[str, str]) -> str:
            return f"{fields['device']} from {fields['reply']}"

        holder.requests["echo"] = echo
        loops = [asyncio.create_task(asker.read_replies()), asyncio.create_task(holder.serve())]
        try:
            while asker.last_reply is None or not await client.exists(keys.runs("h")):
                await asyncio.sleep(0.01)  # both loops set up (the holder's group at "$")
            assert await asker.ask("h", "echo", {"device": "dev-a"}, 5.0) == "dev-a from a"
            assert await asker.ask("h", "nobody", {"device": "dev-a"}, 0.5) is None
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
