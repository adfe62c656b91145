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


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("limits") / "data"


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    limits = data_dir.parent / "limits.json"
    limits.write_text(json.dumps({"roomy": ROOMY}))
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
