"""Conductor actions (docs/openwhisk-contract.md, section 5) through the real dispatcher and
invokers.

The conductors here are Python actions with ``conductor: true``: the protocol is
kind-agnostic, so what Composer's JavaScript conductors rely on is proved with python:3.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from edgewhisk_controller.dispatch import conductor
from edgewhisk_controller.schema import activation as act

from .conftest import NS, SUBJECT, Env, Run

# Runs the plan in args['plan'] (kept in state) one step at a time; '$step' lives in state.
STEPPER = """
def main(args):
    if 'error' in args:
        return {'error': args['error']}
    step, plan = args.get('$step', 0), args['plan']
    if step < len(plan):
        return {'action': plan[step], 'params': {'n': args['n']},
                'state': {'$step': step + 1, 'plan': plan}}
    return {'params': {'n': args['n'], 'steps': step}}
"""
INC = "def main(args):\n    return {'n': args['n'] + 1, '$step': 99, 'plan': []}\n"
DOUBLE = "def main(args):\n    return {'n': args['n'] * 2}\n"
FAIL = "def main(args):\n    return {'error': 'boom'}\n"
ECHO = "def main(args):\n    return args\n"
CONDUCTOR = {"conductor": True}


async def _records(env: Env, ids: list[str]) -> list[Any]:
    return [await env.record(id) for id in ids]


def _annotations(rec: Any) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in rec["annotations"]}


def test_a_three_step_composition_merges_state_and_records_every_step(
    make_env: Any, run: Run
) -> None:
    env: Env = make_env()

    async def scenario() -> tuple[Any, list[Any]]:
        await env.put_action("inc", INC)
        await env.put_action("double", DOUBLE, limits={"memory": 512})
        flow = await env.put_action("flow", STEPPER, annotations=CONDUCTOR)
        plan = ["inc", "/_/double", f"/{NS}/inc"]
        inv = await env.dispatcher.invoke(NS, flow, {"n": 1, "plan": plan}, subject=SUBJECT,
                                          blocking=True, wait_s=120)
        assert inv.record == await env.record(inv.activation_id)
        return inv.record, await _records(env, inv.record["logs"])

    primary, steps = run(scenario())
    # inc: 1 -> 2 (its '$step': 99 and 'plan': [] lose to state), double: 4, inc: 5
    assert primary["response"] == {"status": "success", "statusCode": 0, "success": True,
                                   "result": {"n": 5, "steps": 3}}
    assert [s["name"] for s in steps] == ["flow", "inc", "flow", "double", "flow", "inc", "flow"]
    assert all(s["cause"] == primary["activationId"] for s in steps)
    assert all(_annotations(s)["causedBy"] == "sequence" for s in steps)
    assert "cause" not in primary
    assert primary["duration"] == sum(s["duration"] for s in steps)
    wait = primary["annotations"].pop(4)  # upstream's PrimitiveActions.completeActivation
    assert wait["key"] == "waitTime" and isinstance(wait["value"], int) and wait["value"] >= 0
    assert primary["annotations"] == [
        {"key": "topmost", "value": True},
        {"key": "path", "value": f"{NS}/flow"},
        {"key": "kind", "value": "sequence"},
        {"key": "conductor", "value": True},
        {"key": "limits", "value": {"concurrency": 1, "logs": 10, "memory": 512,
                                    "timeout": 60_000}},
    ]


def test_an_error_from_the_conductor_ends_the_composition(make_env: Any, run: Run) -> None:
    env: Env = make_env()

    async def scenario() -> tuple[Any, list[Any]]:
        await env.put_action("fail", FAIL)
        flow = await env.put_action("flow", STEPPER, annotations=CONDUCTOR)
        inv = await env.dispatcher.invoke(NS, flow, {"n": 1, "plan": ["fail", "inc"]},
                                          subject=SUBJECT, blocking=True, wait_s=120)
        return inv.record, await _records(env, inv.record["logs"])

    primary, steps = run(scenario())
    assert primary["response"]["status"] == "application error"
    assert primary["response"]["result"] == {"error": "boom"}
    assert [s["name"] for s in steps] == ["flow", "fail", "flow"]


def test_the_51st_component_is_refused_with_upstreams_error(make_env: Any, run: Run) -> None:
    env: Env = make_env()
    forever = ("def main(args):\n    if 'error' in args:\n        return {'error': args['error']}"
               "\n    return {'action': 'noop', 'params': {}}\n")

    async def scenario() -> tuple[Any, list[Any]]:
        await env.put_action("noop", "def main(args):\n    return {}\n")
        flow = await env.put_action("forever", forever, annotations=CONDUCTOR)
        inv = await env.dispatcher.invoke(NS, flow, {}, subject=SUBJECT, blocking=True,
                                          wait_s=600)
        return inv.record, await _records(env, inv.record["logs"])

    primary, steps = run(scenario())
    assert primary["response"]["statusCode"] == 1
    assert primary["response"]["result"] == {"error": "Too many actions in the composition."}
    names = [s["name"] for s in steps]
    assert names.count("noop") == 50
    assert names.count("forever") == 52  # 51 runs asking for a component, one on the error
    assert names[-2:] == ["forever", "forever"]


def test_a_conductor_ignoring_the_limit_stops_after_2n_plus_1_runs(
    make_env: Any, run: Run
) -> None:
    env: Env = make_env()
    stubborn = "def main(args):\n    return {'action': 'noop', 'params': {}}\n"

    async def scenario() -> tuple[Any, list[Any]]:
        await env.put_action("noop", "def main(args):\n    return {}\n")
        flow = await env.put_action("stubborn", stubborn, annotations=CONDUCTOR)
        inv = await env.dispatcher.invoke(NS, flow, {}, subject=SUBJECT, blocking=True,
                                          wait_s=600)
        return inv.record, await _records(env, inv.record["logs"])

    primary, steps = run(scenario())
    assert primary["response"]["result"] == {"error": "Too many actions in the composition."}
    names = [s["name"] for s in steps]
    assert (names.count("noop"), names.count("stubborn")) == (50, 101)


@pytest.mark.parametrize("params, state, component_sees, result", [
    pytest.param(42, None, {"value": 42}, {"value": 42},
                 id="a non-object params is boxed as value"),
    pytest.param({"x": 1}, 7, {"x": 1}, {"x": 1, "state": 7},
                 id="a non-object state is boxed as state"),
])
def test_non_object_params_and_state_are_boxed(
    make_env: Any, run: Run, params: Any, state: Any, component_sees: Any, result: Any
) -> None:
    env: Env = make_env()
    code = f"""
def main(args):
    if args.get('done'):
        return {{'params': {{k: v for k, v in args.items() if k != 'done'}}}}
    return {{'action': 'echo', 'params': {params!r}, 'state': {state!r}}}
"""
    code = code.replace("'state': None", "")  # no state at all when the table says None
    echo = "def main(args):\n    return dict(args, done=True)\n"

    async def scenario() -> tuple[Any, list[Any]]:
        await env.put_action("echo", echo)
        flow = await env.put_action("box", code, annotations=CONDUCTOR)
        inv = await env.dispatcher.invoke(NS, flow, {}, subject=SUBJECT, blocking=True,
                                          wait_s=120)
        return inv.record, await _records(env, inv.record["logs"])

    primary, steps = run(scenario())
    assert steps[1]["name"] == "echo"
    assert steps[1]["response"]["result"] == {**component_sees, "done": True}
    assert primary["response"]["result"] == result


@pytest.mark.parametrize("name, error", [
    pytest.param(17, conductor.component_invalid(17), id="a number is not an action name"),
    pytest.param("missing", conductor.component_not_found(f"{NS}/missing"),
                 id="an unknown action is not found"),
    pytest.param("/other/x", conductor.component_not_accessible("other/x"),
                 id="another namespace is not accessible"),
])
def test_a_bad_component_name_is_reported_to_the_conductor(
    make_env: Any, run: Run, name: Any, error: str
) -> None:
    env: Env = make_env()
    code = (f"def main(args):\n    if 'error' in args:\n        return {{'seen': args['error']}}"
            f"\n    return {{'action': {name!r}}}\n")

    async def scenario() -> Any:
        flow = await env.put_action("bad", code, annotations=CONDUCTOR)
        return (await env.dispatcher.invoke(NS, flow, {}, subject=SUBJECT, blocking=True,
                                            wait_s=120)).record

    primary = run(scenario())
    assert primary["response"]["result"] == {"seen": error}
    assert len(primary["logs"]) == 2  # two conductor runs, no component


def test_a_conductor_without_action_returns_its_result(make_env: Any, run: Run) -> None:
    env: Env = make_env()

    async def scenario() -> Any:
        flow = await env.put_action("direct", "def main(args):\n    return {'a': args['a']}\n",
                                    annotations=CONDUCTOR)
        return (await env.dispatcher.invoke(NS, flow, {"a": 1}, subject=SUBJECT, blocking=True,
                                            wait_s=120)).record

    primary = run(scenario())
    assert primary["response"]["result"] == {"a": 1}
    assert len(primary["logs"]) == 1


def test_a_nested_composition_is_caused_by_its_parent(make_env: Any, run: Run) -> None:
    env: Env = make_env()

    async def scenario() -> tuple[Any, list[Any]]:
        await env.put_action("inc", INC)
        await env.put_action("inner", STEPPER, annotations=CONDUCTOR)
        outer = ("def main(args):\n    if 'steps' in args:\n        return {'params': args}\n"
                 "    return {'action': 'inner', 'params': {'n': 1, 'plan': ['inc']}}\n")
        flow = await env.put_action("outer", outer, annotations=CONDUCTOR)
        inv = await env.dispatcher.invoke(NS, flow, {}, subject=SUBJECT, blocking=True,
                                          wait_s=120)
        return inv.record, await _records(env, inv.record["logs"])

    primary, steps = run(scenario())
    assert primary["response"]["result"] == {"n": 2, "steps": 1}
    assert [s["name"] for s in steps] == ["outer", "inner", "outer"]
    nested = steps[1]
    assert nested["cause"] == primary["activationId"]
    assert _annotations(nested)["topmost"] is False
    assert _annotations(nested)["causedBy"] == "sequence"
    assert len(nested["logs"]) == 3
    # PrimitiveActions.completeActivation: every composition record has its waitTime
    assert [a["key"] for a in nested["annotations"]] == [
        "topmost", "path", "kind", "conductor", "causedBy", "waitTime", "limits"]
    assert _annotations(nested)["waitTime"] >= 0


def test_shutting_down_mid_composition_records_the_composition_and_its_step_as_aborted(
    make_env: Any, run: Run
) -> None:
    env: Env = make_env()
    slow = "import time\ndef main(args):\n    time.sleep(60)\n    return {}\n"

    async def scenario() -> tuple[Any, list[Any], int]:
        await env.put_action("slow", slow)
        flow = await env.put_action("flow", STEPPER, annotations=CONDUCTOR)
        inv = await env.dispatcher.invoke(NS, flow, {"n": 1, "plan": ["slow"]}, subject=SUBJECT,
                                          blocking=False, wait_s=0)
        while await env.count() == 0 or env.registry.get("local-0").state().in_flight == 0:
            await asyncio.sleep(0.02)  # the first conductor run is recorded, slow is running
        await env.dispatcher.close(grace_s=0)
        primary = await env.record(inv.activation_id)
        return primary, await _records(env, primary["logs"]), await env.count()

    primary, steps, count = run(scenario())
    assert primary["response"]["result"] == {"error": act.ABORTED}
    assert [s["name"] for s in steps] == ["flow", "slow"]
    assert steps[1]["response"]["result"] == {"error": act.ABORTED}
    assert count == 3


def test_a_nodejs_conductor_drives_python_components(make_env: Any, run: Run) -> None:
    env: Env = make_env()
    js = """
function main(args) {
  if (args.error) return { error: args.error };
  if (args.$done) return { params: { n: args.n } };
  return { action: "double", params: { n: args.n }, state: { $done: true } };
}
"""

    async def scenario() -> tuple[Any, list[Any]]:
        await env.put_action("double", DOUBLE)
        flow = await env.put_action("jsflow", js, kind="nodejs:default", annotations=CONDUCTOR)
        inv = await env.dispatcher.invoke(NS, flow, {"n": 21}, subject=SUBJECT, blocking=True,
                                          wait_s=120)
        return inv.record, await _records(env, inv.record["logs"])

    primary, steps = run(scenario())
    assert primary["response"]["result"] == {"n": 42}
    assert [(s["name"], _annotations(s)["kind"]) for s in steps] == [
        ("jsflow", "nodejs:default"), ("double", "python:3"), ("jsflow", "nodejs:default")]
