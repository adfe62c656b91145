"""Per-namespace limits through a real controller: invocations per minute, concurrent
invocations and trigger fires per minute, answered 429 with OpenWhisk's messages word for word
and before anything starts; configurable per controller (flags) and per namespace
(``--namespace-limits``). Each test has a namespace of its own, so no window is shared."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Client, Controller, create_action, create_namespace, edgewhisk, started

ECHO = "def main(args):\n    return args\n"
SLEEPY = "import time\n\ndef main(args):\n    time.sleep(4)\n    return {}\n"
PER_MINUTE, IN_FLIGHT, FIRES = 3, 1, 2
ROOMY = {"invocationsPerMinute": 10, "concurrentInvocations": 5}
OWN = {"firesPerMinute": 7}  # "own-view": one field of its own, the others the controller's


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("limits") / "data"


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    limits = data_dir.parent / "limits.json"
    limits.write_text(json.dumps({"roomy": ROOMY, "own-view": OWN}))
    yield from started(data_dir, "--invocations-per-minute", str(PER_MINUTE),
                       "--concurrent-invocations", str(IN_FLIGHT),
                       "--fires-per-minute", str(FIRES), "--namespace-limits", str(limits))


@pytest.fixture
def tenant(request: pytest.FixtureRequest, controller: Controller,
           data_dir: Path) -> Iterator[Client]:
    """A client of a namespace of this test's own (``roomy`` when the test is marked so)."""
    name = "roomy" if "roomy" in request.node.name else request.node.name[5:30]
    key = create_namespace(["--data", str(data_dir)], name.replace("_", "-"))
    with controller.client(key) as client:
        yield client


def activations(client: Client) -> list[str]:
    listed = client.request("GET", "activations", params={"limit": "200"})
    assert listed.status_code == 200, listed.text
    return [a["activationId"] for a in listed.json()]


def refused(response: object, message: str) -> None:
    assert getattr(response, "status_code") == 429, getattr(response, "text")  # noqa: B009
    body = response.json()  # type: ignore[attr-defined]
    assert body["error"] == message and set(body) == {"error", "code"}


def test_the_invoke_over_the_minutes_limit_is_a_429_and_starts_nothing(tenant: Client) -> None:
    create_action(tenant, "echo", ECHO)
    for _ in range(PER_MINUTE):
        answer = tenant.request("POST", "actions/echo", params={"blocking": "true"}, json={})
        assert answer.status_code == 200, answer.text
    before = activations(tenant)
    refused(tenant.request("POST", "actions/echo", params={"blocking": "true"}, json={}),
            f"Too many requests in the last minute (count: {PER_MINUTE + 1}, "
            f"allowed: {PER_MINUTE}).")
    assert activations(tenant) == before


def test_an_invoke_over_the_concurrency_limit_is_a_429_and_starts_nothing(
        tenant: Client) -> None:
    create_action(tenant, "sleepy", SLEEPY)
    running = tenant.request("POST", "actions/sleepy", json={})
    assert running.status_code == 202, running.text
    refused(tenant.request("POST", "actions/sleepy", json={}),
            "Too many concurrent requests in flight (count: 1, allowed: 1).")
    deadline = time.monotonic() + 60
    while not activations(tenant) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert activations(tenant) == [running.json()["activationId"]]  # only the first ran


def test_the_fire_over_the_minutes_limit_is_a_429_and_fires_no_rule(tenant: Client) -> None:
    create_action(tenant, "echo", ECHO)
    assert tenant.request("PUT", "triggers/t", json={}).status_code == 200
    rule = {"trigger": "/_/t", "action": "/_/echo"}
    assert tenant.request("PUT", "rules/r", json=rule).status_code == 200
    fired = [tenant.request("POST", "triggers/t", json={"n": n}) for n in range(FIRES)]
    assert [f.status_code for f in fired] == [202] * FIRES
    deadline = time.monotonic() + 60
    while len(activations(tenant)) < 2 * FIRES and time.monotonic() < deadline:
        time.sleep(0.2)  # each fire: the trigger's activation and the rule's action's
    before = activations(tenant)
    refused(tenant.request("POST", "triggers/t", json={}),
            f"Too many requests in the last minute (count: {FIRES + 1}, allowed: {FIRES}).")
    time.sleep(1.0)
    assert activations(tenant) == before


def test_the_roomy_namespace_with_limits_of_its_own_goes_past_the_controllers(
        tenant: Client) -> None:
    create_action(tenant, "echo", ECHO)  # tenant is "roomy" (test name): 10 a minute, 5 at once
    for _ in range(PER_MINUTE + 2):
        answer = tenant.request("POST", "actions/echo", params={"blocking": "true"}, json={})
        assert answer.status_code == 200, answer.text


def test_the_api_description_shows_the_controllers_limits_as_upstream(guest: Client) -> None:
    limits = guest.request("GET", "/api/v1").json()["limits"]
    assert (limits["actions_per_minute"], limits["concurrent_actions"],
            limits["triggers_per_minute"]) == (PER_MINUTE, IN_FLIGHT, FIRES)


@pytest.mark.parametrize(("content", "words"), [
    pytest.param({"a": {"invocationsPerMinit": 1}}, "a.invocationsPerMinit: unknown",
                 id="a misspelt field is named"),
    pytest.param({"a": {"firesPerMinute": -1}}, "a.firesPerMinute must be a whole number >= 0",
                 id="a negative limit is named"),
    pytest.param({"a": {"firesPerMinute": 1.5}}, "a.firesPerMinute must be a whole number",
                 id="a fractional limit is named"),
    pytest.param(["a"], "an object of namespaces", id="a list instead of an object"),
])
def test_a_bad_namespace_limits_file_stops_the_controller_before_it_serves(
        tmp_path: Path, content: object, words: str) -> None:
    limits = tmp_path / "limits.json"
    limits.write_text(json.dumps(content))
    done = subprocess.run(edgewhisk("controller", "--port", "0", "--data", str(tmp_path / "d"),
                                    "--namespace-limits", str(limits)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert not (tmp_path / "d").exists()


def test_limits_shows_each_namespace_its_own(guest: Client, controller: Controller,
                                             data_dir: Path) -> None:
    """Upstream's ``WhiskLimitsApi`` answers ``GET /namespaces/_/limits`` with the caller's
    ``UserLimits``: a namespace limited on its own (``wskadmin limits set``) sees those, every
    other one the controller's."""
    assert _rates(guest.request("GET", "limits").json()) == (PER_MINUTE, IN_FLIGHT, FIRES)
    key = create_namespace(["--data", str(data_dir)], "own-view")
    with controller.client(key) as own:
        assert _rates(own.request("GET", "limits").json()) == (
            PER_MINUTE, IN_FLIGHT, OWN["firesPerMinute"])


def _rates(limits: dict[str, object]) -> tuple[object, ...]:
    return (limits["invocationsPerMinute"], limits["concurrentInvocations"],
            limits["firesPerMinute"])


def test_a_web_action_over_its_owners_limit_is_a_429_and_runs_nothing(
        tenant: Client, controller: Controller) -> None:
    """A web action runs as its owner (apache/openwhisk:docs/webactions.md), so upstream's
    ``WhiskWebActionsApi`` throttles it with the owner's entitlement: the call past the
    minute's limit is a 429 with ``Messages.tooManyRequests`` and starts nothing."""
    tenant.actions.put("page", {"exec": {"kind": "python:3", "code": ECHO},
                                "annotations": [{"key": "web-export", "value": True}]})
    ns = tenant.request("GET", "/api/v1/namespaces").json()[0]
    url = f"/api/v1/web/{ns}/default/page.json"
    with Client(controller.api_host, None) as anonymous:
        for n in range(PER_MINUTE):
            answer = anonymous.request("GET", url, params={"n": str(n)})
            assert answer.status_code == 200, answer.text
        before = activations(tenant)
        refused(anonymous.request("GET", url),
                f"Too many requests in the last minute (count: {PER_MINUTE + 1}, "
                f"allowed: {PER_MINUTE}).")
    assert activations(tenant) == before


def test_an_alarm_over_the_fires_limit_skips_its_firings_and_goes_on(tenant: Client) -> None:
    """Upstream's alarms provider fires a trigger through the API with its owner's key, so the
    owner's ``firesPerMinute`` applies to it too: past the limit a firing is refused (here:
    skipped, and the schedule goes on, as the provider's retries give up on a 429)."""
    create_action(tenant, "echo", ECHO)
    created = tenant.request("PUT", "triggers/tick", json={
        "annotations": [{"key": "feed", "value": "/whisk.system/alarms/interval"}],
        "parameters": [{"key": "seconds", "value": 1}]})
    assert created.status_code == 200, created.text
    rule = {"trigger": "/_/tick", "action": "/_/echo"}
    assert tenant.request("PUT", "rules/tick-rule", json=rule).status_code == 200
    deadline = time.monotonic() + 60
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = tenant.request("GET", "alarms/tick").json()["status"]
        if int(status["fired"]) >= FIRES + 3:  # type: ignore[call-overload]
            break
        time.sleep(0.5)
    assert int(status["fired"]) >= FIRES + 3, status  # type: ignore[call-overload]
    assert status["active"] is True
    time.sleep(1.0)  # the last firings' records
    fired = [a for a in tenant.request("GET", "activations", params={"limit": "200"}).json()
             if a["name"] == "tick"]
    assert len(fired) == FIRES
    assert tenant.request("DELETE", "triggers/tick").status_code == 200
