"""Hostile and malformed requests, one row per defect of issue 16, against a real controller.

Each row is a request the controller used to answer with a 5xx, accept silently, refuse after
it had changed something, or hold for minutes. Each must now be refused with the right status
and OpenWhisk's error body (``{"error", "code"}``, ``X-Request-ID``) and change nothing: the
namespace's activations, entities, artifacts and device tokens are compared before and after
(for a trigger, long enough for a rule's action to have run and been recorded). Raw-socket rows
cover what no client library sends: malformed HTTP, and bodies that never end.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .harness import Client, Controller, create_action, started

BODY_TIMEOUT_S = 2
QUIET_S = 2.0  # how long a refused fire is watched for a rule's action to show up
HALF = 700 * 1024  # a parameter or a payload that fits alone, not with its twin
ECHO = "def main(args):\n    return args\n"
LONE = "def main(args):\n    return {'x': '\\ud800'}\n"
FLEET = [{"id": "hostile-cloud"}, {"id": "hostile-phone", "role": "edge", "owner": "u1"}]


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "fleet.json").write_text(json.dumps(FLEET))
    yield from started(folder / "data", "--fleet", str(folder / "fleet.json"),
                       "--body-timeout", str(BODY_TIMEOUT_S))


@pytest.fixture(scope="module")
def world(controller: Controller) -> Iterator[Client]:
    """The entities the rows aim at: an echo action, one with a large parameter, triggers
    with an active rule each, a device token."""
    with controller.client() as guest:
        create_action(guest, "echo", ECHO)
        create_action(guest, "padded", ECHO, parameters=[{"key": "pad", "value": "p" * HALF}])
        for trigger, params in (("t", []), ("tpadded", [{"key": "pad", "value": "p" * HALF}])):
            assert guest.request("PUT", f"triggers/{trigger}",
                                 json={"parameters": params}).status_code == 200
            rule = {"trigger": f"/_/{trigger}", "action": "/_/echo"}
            assert guest.request("PUT", f"rules/r{trigger}", json=rule).status_code == 200
        token = guest.request("POST", "invokers/tokens", json={"id": "hostile-pi"})
        assert token.status_code == 200, token.text
        yield guest


def state(client: Client) -> dict[str, Any]:
    """What a refused request must not change, as the API shows it."""
    def listed(path: str, *keys: str) -> list[tuple[Any, ...]]:
        response = client.request("GET", path, params={"limit": "200"})
        assert response.status_code == 200, response.text
        return sorted(tuple(item.get(k) for k in keys) for item in response.json())

    return {
        "activations": listed("activations", "activationId"),
        "actions": listed("actions", "name", "version"),
        "triggers": listed("triggers", "name", "version"),
        "rules": listed("rules", "name", "version", "status"),
        "artifacts": listed("artifacts", "name", "version"),
        "tokens": listed("invokers/tokens", "id"),
    }


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    body: bytes | None
    status: int
    words: str
    params: dict[str, str] = field(default_factory=dict)
    quiet_s: float = 0.0  # watch this long for late effects (a rule's action)


def _json(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _big(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


SHA = "0" * 64
ROWS = [
    pytest.param(Row("POST", "actions/echo", b'{"a": NaN}', 400, "NaN is not a JSON number",
                     {"blocking": "true"}),
                 id="NaN in invoke parameters is a 400, and the action never runs"),
    pytest.param(Row("POST", "actions/echo", _json('{"a": "\\ud800"}'), 400, "lone surrogate",
                     {"blocking": "true"}),
                 id="a lone surrogate in invoke parameters is a 400, not a whisk error record"),
    pytest.param(Row("POST", "triggers/t", b'{"a": NaN}', 400, "NaN is not a JSON number",
                     quiet_s=QUIET_S),
                 id="NaN in a trigger's payload is a 400 before any rule fires"),
    pytest.param(Row("POST", "triggers/t", b'{"a": 1e999}', 400, "is out of range",
                     quiet_s=QUIET_S),
                 id="1e999 in a trigger's payload is a 400 before any rule fires"),
    pytest.param(Row("POST", "triggers/t", _json('{"a": "\\udc00"}'), 400, "lone surrogate",
                     quiet_s=QUIET_S),
                 id="a lone surrogate in a trigger's payload is a 400 before any rule fires"),
    pytest.param(Row("POST", "triggers/tpadded", _big(more="m" * HALF), 413,
                     "trigger parameters larger than allowed", quiet_s=QUIET_S),
                 id="a payload that outgrows 1 MiB with the trigger's parameters is a 413 "
                    "before any rule fires"),
    pytest.param(Row("POST", "actions/padded", _big(more="m" * HALF), 413,
                     "Request larger than allowed", {"blocking": "true"}),
                 id="a payload that outgrows 1 MiB with the action's parameters is a 413"),
    pytest.param(Row("PUT", "actions/deep", b"[" * 100_000 + b"]" * 100_000, 400,
                     "nested more than 128 levels deep"),
                 id="JSON nested 100,000 deep is a 400, not a 500"),
    pytest.param(Row("PUT", "triggers/digits",
                     b'{"parameters": [{"key": "n", "value": ' + b"7" * 5000 + b"}]}", 400,
                     "more than 309 digits"),
                 id="an integer of 5,000 digits is a 400, not a 500"),
    pytest.param(Row("PUT", "actions/annotated", _big(
                     exec={"kind": "python:3", "code": ECHO},
                     annotations=[{"key": "x", "value": "a" * 5 * 1024 * 1024}]), 413,
                     "annotations larger than allowed: 5242904 > 1048576 bytes."),
                 id="annotations of 5 MiB are a 413 and nothing is stored"),
    pytest.param(Row("PUT", "actions/mainly", _big(
                     exec={"kind": "python:3", "code": ECHO, "main": "m" * 100_000}), 413,
                     "Request larger than allowed"),
                 id="a 100 kB entry point name is a 413: no field escapes a limit"),
    pytest.param(Row("POST", "rules/rt", _big(status="inactive", bogus=1), 400,
                     "bogus: unknown field"),
                 id="unknown fields on a rule's status are a 400 and the rule stays active"),
    pytest.param(Row("POST", "invokers/tokens", _big(id="pi\n"), 400,
                     "The invoker id must be"),
                 id="an invoker id ending in a newline is a 400 and no token is created"),
    pytest.param(Row("POST", "invokers/tokens", _big(id="hostile-cloud"), 409,
                     "The invoker id 'hostile-cloud' is taken by a local invoker."),
                 id="a token for the id of the controller's own invoker is a 409"),
    pytest.param(Row("PUT", "artifacts/sized", b"abc", 400,
                     "size: 5 bytes announced, but the upload has 3",
                     {"kind": "model", "size": "5"}),
                 id="an artifact whose size differs from its upload is a 400"),
    pytest.param(Row("PUT", "artifacts/held", None, 400,
                     "held_by: 'nobody' is not a device of namespace 'guest'",
                     {"kind": "data", "locality": "local", "held_by": "nobody",
                      "sha256": SHA, "size": "1"}),
                 id="a registration held by no device of the namespace is a 400"),
    pytest.param(Row("PUT", "artifacts/made", b"m", 400,
                     "created_by: 'deadbeef' is not an activation of namespace 'guest'",
                     {"kind": "model", "created_by": "deadbeef"}),
                 id="created_by naming no activation of the namespace is a 400"),
    pytest.param(Row("PUT", "artifacts/owned", None, 400,
                     "owner: 'u2' is not the owner of 'hostile-phone', which is 'u1'",
                     {"kind": "data", "locality": "local", "held_by": "hostile-phone",
                      "owner": "u2", "sha256": SHA, "size": "1"}),
                 id="an owner other than the holding device's is a 400"),
    pytest.param(Row("PUT", "artifacts/meta", b"m", 400, "metadata: not JSON",
                     {"kind": "model", "metadata": '{"a": NaN}'}),
                 id="NaN in an artifact's metadata is a 400, not a 500 after a version was "
                    "taken"),
]


@pytest.mark.parametrize("row", ROWS)
def test_a_hostile_request_is_refused_in_openwhisks_shape_and_changes_nothing(
        world: Client, row: Row) -> None:
    before = state(world)
    response = world.request(row.method, row.path, params=row.params, data=row.body,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == row.status, response.text
    body = response.json()
    assert set(body) == {"error", "code"} and row.words in body["error"], body
    assert response.headers["X-Request-ID"] == body["code"]
    time.sleep(row.quiet_s)
    assert state(world) == before


def test_a_result_holding_a_lone_surrogate_is_recorded_as_an_invalid_json_response(
        world: Client) -> None:
    """What an action returns is never refused: a result that is no standard JSON is an
    action developer error with upstream's message, recorded and served like any other."""
    create_action(world, "lone", LONE)
    response = world.request("POST", "actions/lone", params={"blocking": "true"})
    assert response.status_code == 502, response.text
    result = response.json()["response"]
    assert result["statusCode"] == 2 and result["status"] == "action developer error"
    assert result["result"]["error"] == ('The action did not produce a valid JSON response: '
                                         '{"x": "\\ud800"}')
    stored = world.request("GET", f"activations/{response.json()['activationId']}")
    assert stored.status_code == 200 and stored.json()["response"] == result


def test_a_registration_naming_what_the_controller_knows_is_accepted(world: Client) -> None:
    made = world.request("POST", "actions/echo", params={"blocking": "true"}, json={})
    assert made.status_code == 200, made.text
    common = {"kind": "data", "locality": "local", "sha256": SHA, "size": "1"}
    by_device = world.request("PUT", "artifacts/known", params={
        **common, "held_by": "hostile-pi", "created_by": made.json()["activationId"]})
    assert by_device.status_code == 200, by_device.text
    assert by_device.json()["owner"] == "guest"  # an offline device declares no owner
    by_phone = world.request("PUT", "artifacts/known", params={**common,
                                                               "held_by": "hostile-phone"})
    assert by_phone.status_code == 200, by_phone.text
    assert by_phone.json()["owner"] == "u1"  # the holder's


# -- raw sockets: what no client library sends ----------------------------------------------

def _raw(controller: Controller, head: bytes, body: bytes = b"", *, trickle_s: float = 0.0,
         timeout_s: float = 30.0) -> tuple[int, dict[str, str], bytes, float]:
    """Send ``head``, then ``body`` (``trickle_s``: one byte at a time, that far apart, until
    answered); the status, headers and body of the answer, and when it came (s)."""
    address = urlsplit(controller.api_host)
    with socket.create_connection((address.hostname, address.port), timeout=timeout_s) as sock:
        sock.sendall(head)
        started_s = time.monotonic()
        received = b""
        if trickle_s:
            sock.settimeout(trickle_s)
            for byte in body:
                sock.sendall(bytes([byte]))
                try:
                    received = sock.recv(65536)
                except TimeoutError:
                    continue
                break
            sock.settimeout(timeout_s)
        else:
            sock.sendall(body)
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        answered_s = time.monotonic() - started_s
        top, _, rest = received.partition(b"\r\n\r\n")
        lines = top.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        while len(rest) < int(headers.get("Content-Length", 0)):
            rest += sock.recv(65536)
    return int(lines[0].split()[1]), headers, rest, answered_s


def _invoke_head(controller: Controller, length: int) -> bytes:
    auth = base64.b64encode(controller.auth.encode()).decode()
    return (f"POST /api/v1/namespaces/_/actions/echo HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Basic {auth}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


RAW = [
    pytest.param(lambda c: (b"GET /ping HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", b""),
                 0.0, 400,
                 "The request could not be parsed: Invalid header token",
                 id="a malformed header is a 400 in OpenWhisk's JSON shape, not plain text"),
    pytest.param(lambda c: (b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b""),
                 0.0, 400,
                 "The request could not be parsed: Got more than 8190 bytes",
                 id="a request line over 8 KiB is a 400 in OpenWhisk's JSON shape"),
    pytest.param(lambda c: (b"\x00\x01 garbage\r\n\r\n", b""), 0.0, 400,
                 "The request could not be parsed: Invalid method",
                 id="garbage instead of HTTP is a 400 in OpenWhisk's JSON shape"),
    pytest.param(lambda c: (_invoke_head(c, 100), b"{"), 0.0, 408,
                 "The request body did not arrive in time: 1 bytes",
                 id="a body that never ends is cut with a 408 after the body timeout"),
    pytest.param(lambda c: (_invoke_head(c, 40), b" " * 40), 0.25, 408,
                 "The request body did not arrive in time",
                 id="a body trickling a byte at a time is cut with a 408, however it goes on"),
]


@pytest.mark.parametrize(("request_of", "trickle_s", "status", "words"), RAW)
def test_what_no_client_library_sends_is_answered_in_openwhisks_shape(
        controller: Controller, world: Client, request_of: Any, trickle_s: float, status: int,
        words: str) -> None:
    before = state(world)
    got, headers, body, answered_s = _raw(controller, *request_of(controller),
                                          trickle_s=trickle_s)
    assert got == status, body
    assert headers["Content-Type"].startswith("application/json")
    doc = json.loads(body)
    assert set(doc) == {"error", "code"} and words in doc["error"], doc
    assert headers["X-Request-ID"] == doc["code"]
    if status == 408:
        assert headers["Connection"] == "close"
        assert answered_s < BODY_TIMEOUT_S + 3  # the body's deadline, not a client's patience
    assert state(world) == before


def test_the_controller_serves_on_after_every_hostile_row(world: Client,
                                                          controller: Controller) -> None:
    answer = world.request("POST", "actions/echo", params={"blocking": "true", "result": "true"},
                           json={"still": "here"})
    assert answer.status_code == 200 and answer.json() == {"still": "here"}
    assert "Traceback" not in Path(controller.log_path).read_text()
