"""The Dispatcher end to end: real SQLite store, real local invokers with the process backend.

What it proves: blocking and non-blocking invokes, the wait limit (record None, then the record
lands), every response status as upstream maps it, the record's exact shape (cold and warm),
the ``__OW_*`` fields, parameter merging, unschedulable activations recorded as whisk internal
errors with the reason, broken infrastructure, shutdown, and least-loaded placement.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from edgewhisk_controller.dispatch import DispatcherClosed
from edgewhisk_controller.schema import activation as act

from .conftest import API_HOST, API_KEY, NS, SUBJECT, Env, Run

HEX32 = re.compile(r"[0-9a-f]{32}")
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (stdout|stderr): .*")

OUTCOMES = [
    pytest.param("def main(args):\n    return {'hello': args.get('name')}\n",
                 0, {"hello": "edge"}, id="a dict result is a success"),
    pytest.param("def main(args):\n    return [args['name'], 1]\n",
                 0, ["edge", 1], id="an array result is a success"),
    pytest.param("def main(args):\n    return {'error': 'sorry'}\n",
                 1, {"error": "sorry"}, id="a returned error is an application error"),
    pytest.param("def main(args):\n    raise ValueError('bad input')\n",
                 1, None, id="a raised exception is an application error"),
    pytest.param("def main(args):\n    return 'text'\n",
                 2, {"error": "The action did not return a dictionary or array."},
                 id="a non-JSON-object result is an action developer error"),
    pytest.param("def main(args) syntax error\n",
                 2, None, id="code that does not import is an action developer error"),
]


@pytest.mark.parametrize("code, status, result", OUTCOMES)
def test_blocking_invoke_maps_the_outcome_to_upstreams_status(
    make_env: Any, run: Run, code: str, status: int, result: Any
) -> None:
    env: Env = make_env()

    async def scenario() -> Any:
        action = await env.put_action("a", code)
        inv = await env.dispatcher.invoke(NS, action, {"name": "edge"}, subject=SUBJECT,
                                          blocking=True, wait_s=60)
        assert inv.record is not None
        assert inv.record == await env.record(inv.activation_id)
        return inv.record

    record = run(scenario())
    response = record["response"]
    assert response["statusCode"] == status
    assert response["status"] == act.STATUS_NAMES[status]
    assert response["success"] is (status == 0)
    if result is not None:
        assert response["result"] == result
    else:
        assert isinstance(response["result"]["error"], str) and response["result"]["error"]


def test_the_record_has_upstreams_shape_with_init_time_only_on_a_cold_start(
    make_env: Any, run: Run
) -> None:
    env: Env = make_env({"local-0": 1024})
    code = "def main(args):\n    print('hello', args['n'])\n    return {'n': args['n']}\n"

    async def scenario() -> tuple[Any, Any]:
        action = await env.put_action("shape", code, limits={"memory": 128})
        cold = await env.dispatcher.invoke(NS, action, {"n": 1}, subject=SUBJECT,
                                           blocking=True, wait_s=60)
        warm = await env.dispatcher.invoke(NS, action, {"n": 2}, subject=SUBJECT,
                                           blocking=True, wait_s=60)
        return cold, warm

    cold, warm = run(scenario())
    for inv, n in ((cold, 1), (warm, 2)):
        rec = inv.record
        assert HEX32.fullmatch(inv.activation_id)
        assert list(rec) == ["namespace", "name", "version", "subject", "activationId", "start",
                             "end", "duration", "response", "logs", "annotations", "publish"]
        assert (rec["namespace"], rec["name"], rec["version"], rec["subject"]) == (
            NS, "shape", "0.0.1", SUBJECT)
        assert rec["activationId"] == inv.activation_id
        assert rec["duration"] == rec["end"] - rec["start"] >= 0
        assert rec["response"] == {"status": "success", "statusCode": 0, "success": True,
                                   "result": {"n": n}}
        assert rec["publish"] is False
        assert all(LOG_LINE.fullmatch(line) for line in rec["logs"]), rec["logs"]
        assert any(line.endswith(f"stdout: hello {n}") for line in rec["logs"]), rec["logs"]
        annotations = {a["key"]: a["value"] for a in rec["annotations"]}
        assert annotations["limits"] == {"concurrency": 1, "logs": 10, "memory": 128,
                                         "timeout": 60_000}
        assert annotations["path"] == f"{NS}/shape"
        assert annotations["kind"] == "python:3"
        assert annotations["timeout"] is False
        assert annotations["invoker"] == "local-0"
        assert isinstance(annotations["waitTime"], int) and annotations["waitTime"] >= 0
    cold_keys = [a["key"] for a in cold.record["annotations"]]
    warm_keys = [a["key"] for a in warm.record["annotations"]]
    assert cold_keys == ["limits", "path", "kind", "timeout", "initTime", "waitTime", "invoker",
                         "placement"]
    assert warm_keys == ["limits", "path", "kind", "timeout", "waitTime", "invoker", "placement"]
    why = cold.record["annotations"][-1]["value"]  # edgewhisk's own, after upstream's
    assert (why["invoker"], why["candidates"], why["of"]) == ("local-0", 1, 1)
    assert "runnerUp" not in why and "excluded" not in why
    assert isinstance(cold.record["annotations"][4]["value"], int)


def test_a_non_blocking_invoke_answers_at_once_and_the_record_appears(
    make_env: Any, run: Run
) -> None:
    env: Env = make_env()

    async def scenario() -> tuple[Any, Any]:
        action = await env.put_action("nb", "def main(args):\n    return {'ok': True}\n")
        inv = await env.dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=False,
                                          wait_s=60)
        return inv, await env.record(inv.activation_id)

    inv, rec = run(scenario())
    assert inv.record is None
    assert rec["activationId"] == inv.activation_id
    assert rec["response"]["result"] == {"ok": True}


def test_a_blocking_invoke_past_its_wait_returns_no_record_and_the_record_lands_later(
    make_env: Any, run: Run
) -> None:
    env: Env = make_env()
    code = "import time\ndef main(args):\n    time.sleep(1.5)\n    return {'slept': True}\n"

    async def scenario() -> tuple[Any, int, Any]:
        action = await env.put_action("slow", code)
        inv = await env.dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=True,
                                          wait_s=0.2)
        count_at_return = await env.count()
        return inv, count_at_return, await env.record(inv.activation_id)

    inv, count_at_return, rec = run(scenario())
    assert inv.record is None
    assert count_at_return == 0
    assert rec["response"]["result"] == {"slept": True}


OW_CODE = """import os
def main(args):
    return {k: v for k, v in os.environ.items() if k.startswith('__OW_')}
"""


@pytest.mark.parametrize("provide, expected", [
    pytest.param(True, True, id="provide-api-key true passes the key"),
    pytest.param(False, False, id="provide-api-key false withholds the key"),
])
def test_the_action_sees_the_ow_fields(
    make_env: Any, run: Run, provide: bool, expected: bool
) -> None:
    env: Env = make_env()

    async def scenario() -> Any:
        action = await env.put_action("ow", OW_CODE, annotations={"provide-api-key": provide})
        action["version"] = "0.0.7"
        return await env.dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=True,
                                           wait_s=60, api_key=API_KEY)

    inv = run(scenario())
    seen = inv.record["response"]["result"]
    assert seen["__OW_NAMESPACE"] == NS
    assert seen["__OW_ACTION_NAME"] == f"/{NS}/ow"
    assert seen["__OW_ACTION_VERSION"] == "0.0.7"
    assert seen["__OW_ACTIVATION_ID"] == inv.activation_id
    assert HEX32.fullmatch(seen["__OW_TRANSACTION_ID"])
    assert seen["__OW_DEADLINE"].isdigit()
    assert int(seen["__OW_DEADLINE"]) > inv.record["start"]
    assert seen["__OW_API_HOST"] == API_HOST
    assert (seen.get("__OW_API_KEY") == API_KEY) is expected
    assert ("__OW_API_KEY" in seen) is expected


def test_request_parameters_override_the_actions_parameters(make_env: Any, run: Run) -> None:
    env: Env = make_env()

    async def scenario() -> Any:
        action = await env.put_action("p", "def main(args):\n    return args\n",
                                      parameters={"a": 1, "b": 2})
        return await env.dispatcher.invoke(NS, action, {"b": 3, "c": 4}, subject=SUBJECT,
                                           blocking=True, wait_s=60)

    assert run(scenario()).record["response"]["result"] == {"a": 1, "b": 3, "c": 4}


def test_an_action_over_its_time_limit_is_a_developer_error_marked_timeout(
    make_env: Any, run: Run
) -> None:
    env: Env = make_env()
    code = "import time\ndef main(args):\n    time.sleep(30)\n    return {}\n"

    async def scenario() -> Any:
        action = await env.put_action("late", code, limits={"timeout": 500})
        return await env.dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=True,
                                           wait_s=60)

    rec = run(scenario()).record
    assert rec["response"]["statusCode"] == 2
    assert rec["response"]["result"] == {
        "error": "The action exceeded its time limits of 500 milliseconds."}
    assert {a["key"]: a["value"] for a in rec["annotations"]}["timeout"] is True


def test_a_result_over_one_mib_is_replaced_by_upstreams_error(make_env: Any, run: Run) -> None:
    env: Env = make_env()
    code = "def main(args):\n    return {'s': 'x' * (1024 * 1024)}\n"

    async def scenario() -> Any:
        action = await env.put_action("big", code)
        return await env.dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=True,
                                           wait_s=60)

    rec = run(scenario()).record
    assert rec["response"]["statusCode"] == 2
    error = rec["response"]["result"]["error"]
    assert error.startswith(
        "The action produced a response that exceeded the allowed length: "
        "1048584 > 1048576 bytes. The truncated response was: {\"s\":\"xxx")


UNSCHEDULABLE = [
    pytest.param({"local-0": 1024}, {"python:3"}, "nodejs:default", 256,
                 "0/1 invokers are available: 1 without kind 'nodejs:default'.",
                 id="no invoker runs the kind"),
    pytest.param({"local-0": 256, "local-1": 128}, None, "python:3", 512,
                 "0/2 invokers are available: 2 with too little memory (needs 512 MB).",
                 id="no invoker has the memory"),
    pytest.param({}, None, "python:3", 256,
                 "0/0 invokers are available: no invoker is registered.",
                 id="no invoker at all"),
]


@pytest.mark.parametrize("invokers, kinds, kind, memory, reason", UNSCHEDULABLE)
def test_an_unschedulable_activation_is_recorded_as_a_whisk_internal_error(
    make_env: Any, run: Run, invokers: dict[str, int], kinds: Any, kind: str, memory: int,
    reason: str,
) -> None:
    env: Env = make_env(invokers, kinds)

    async def scenario() -> tuple[Any, Any]:
        action = await env.put_action("u", "function main(){return {}}", kind=kind,
                                      limits={"memory": memory})
        inv = await env.dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=True,
                                          wait_s=60)
        return inv, await env.record(inv.activation_id)

    inv, stored = run(scenario())
    assert inv.record == stored
    assert stored["response"] == {"status": "whisk internal error", "statusCode": 3,
                                  "success": False, "result": {"error": reason}}
    keys = [a["key"] for a in stored["annotations"]]
    assert keys == ["limits", "path", "kind", "timeout", "waitTime"]


def test_a_failing_backend_is_recorded_as_a_whisk_internal_error(make_env: Any, run: Run) -> None:
    env: Env = make_env({"local-0": 1024})

    async def scenario() -> Any:
        await env.registry.get("local-0").pool.close()  # the pool refuses every run now
        action = await env.put_action("x", "def main(args):\n    return {}\n")
        return await env.dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=True,
                                           wait_s=60)

    rec = run(scenario()).record
    assert rec["response"]["statusCode"] == 3
    assert rec["response"]["result"] == {"error": act.RESOURCE_PROVISION_ERROR}
    assert {a["key"]: a["value"] for a in rec["annotations"]}["invoker"] == "local-0"


def test_closing_aborts_running_activations_with_a_record_and_refuses_new_ones(
    make_env: Any, run: Run
) -> None:
    env: Env = make_env()
    code = "import time\ndef main(args):\n    time.sleep(60)\n    return {}\n"

    async def scenario() -> Any:
        action = await env.put_action("long", code)
        inv = await env.dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=False,
                                          wait_s=0)
        while env.registry.get("local-0").state().in_flight == 0:
            await asyncio.sleep(0.02)
        await env.dispatcher.close(grace_s=0)
        with pytest.raises(DispatcherClosed):
            await env.dispatcher.invoke(NS, action, {}, subject=SUBJECT, blocking=False,
                                        wait_s=0)
        return await env.record(inv.activation_id), await env.count()

    rec, count = run(scenario())
    assert rec["response"]["statusCode"] == 3
    assert rec["response"]["result"] == {"error": act.ABORTED}
    assert count == 1


def test_placement_picks_the_least_loaded_invoker(make_env: Any, run: Run) -> None:
    env: Env = make_env({"local-a": 1024, "local-b": 1024})
    slow = "import time\ndef main(args):\n    time.sleep(2)\n    return {}\n"

    async def scenario() -> tuple[Any, Any]:
        busy = await env.put_action("busy", slow)
        quick = await env.put_action("quick", "def main(args):\n    return {}\n")
        first = await env.dispatcher.invoke(NS, busy, {}, subject=SUBJECT, blocking=False,
                                            wait_s=0)
        while sum(s.in_flight for s in env.registry.states()) == 0:
            await asyncio.sleep(0.02)
        second = await env.dispatcher.invoke(NS, quick, {}, subject=SUBJECT, blocking=True,
                                             wait_s=60)
        return await env.record(first.activation_id), second.record

    first, second = run(scenario())
    invoker = {r["name"]: {a["key"]: a["value"] for a in r["annotations"]}["invoker"]
               for r in (first, second)}
    assert invoker == {"busy": "local-a", "quick": "local-b"}  # ties go to the smaller id


def test_every_activation_is_recorded_exactly_once(make_env: Any, run: Run) -> None:
    env: Env = make_env({"local-a": 512, "local-b": 512})

    async def scenario() -> tuple[list[str], list[Any]]:
        action = await env.put_action("many", "def main(args):\n    return args\n",
                                      limits={"concurrency": 2})
        invs = await asyncio.gather(*(
            env.dispatcher.invoke(NS, action, {"i": i}, subject=SUBJECT, blocking=i % 2 == 0,
                                  wait_s=60) for i in range(12)))
        ids = [inv.activation_id for inv in invs]
        records = [await env.record(id) for id in ids]
        return ids, records + [await env.count()]

    ids, records = run(scenario())
    count = records.pop()
    assert len(set(ids)) == 12 and count == 12
    assert sorted(r["response"]["result"]["i"] for r in records) == list(range(12))
    assert all(json.dumps(r) for r in records)
