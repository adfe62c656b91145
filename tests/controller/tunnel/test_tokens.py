"""Device tokens through the API (created once, listed without secrets, revoked), the API's
401/403 on those endpoints, and the tunnel refusing anything but a live token of its own."""

from __future__ import annotations

import aiohttp
import pytest

from controller.api.harness import Controller, create_namespace

from .conftest import Lab, run
from .device import basic, ws_url


def test_a_token_is_created_once_listed_without_secrets_and_revoked(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        api = lab.api
        status, created = await api.call("POST", "invokers/tokens", {"id": "tok-a"})
        assert status == 200, created
        assert created["id"] == "tok-a" and created["namespace"] == "guest"
        assert created["token"].startswith("tok-a:") and len(created["token"]) > 40
        status, listed = await api.call("GET", "invokers/tokens")
        assert status == 200
        mine = [t for t in listed if t["id"] == "tok-a"]
        assert mine == [{k: v for k, v in created.items() if k != "token"}]
        assert all("token" not in t and "hash" not in t for t in listed)
        status, again = await api.call("POST", "invokers/tokens", {"id": "tok-a"})
        assert status == 409, again
        status, revoked = await api.call("DELETE", "invokers/tokens/tok-a")
        assert (status, revoked["revoked"]) == (200, True)
        status, listed = await api.call("GET", "invokers/tokens")
        assert "tok-a" not in [t["id"] for t in listed]
        status, gone = await api.call("DELETE", "invokers/tokens/tok-a")
        assert status == 404, gone

    run(controller, scenario)


def test_overwrite_replaces_a_token_and_the_old_one_stops_working(
        controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        old = await lab.api.token("tok-b")
        status, body = await lab.api.call("POST", "invokers/tokens?overwrite=true",
                                          {"id": "tok-b"})
        assert status == 200, body
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await lab.device("tok-b", old).connect()
        assert refused.value.status == 401
        device = await lab.device("tok-b", body["token"]).connect()
        assert device.registered is not None

    run(controller, scenario)


BAD_BODIES = [
    ("no body", None),
    ("no id", {}),
    ("an id with a slash", {"id": "a/b"}),
    ("an id that is not a string", {"id": 7}),
    ("an unknown field", {"id": "x", "secret": "y"}),
    ("the id of a local invoker", {"id": "local0"}),
]


@pytest.mark.parametrize("body", [b for _, b in BAD_BODIES], ids=[n for n, _ in BAD_BODIES])
def test_a_bad_token_request_is_refused_with_an_error(controller: Controller,
                                                     body: object) -> None:
    async def scenario(lab: Lab) -> None:
        status, answer = await lab.api.call("POST", "invokers/tokens", body)
        assert status in (400, 409), answer
        assert answer["error"]

    run(controller, scenario)


def test_an_invoker_id_belongs_to_one_namespace(controller: Controller,
                                                data_dir: object) -> None:
    other = create_namespace(["--data", str(data_dir)], "tunnel-other")

    async def scenario(lab: Lab) -> None:
        await lab.api.token("tok-c")
        as_other = other
        status, body = await lab.api.call("POST", "invokers/tokens", {"id": "tok-c"},
                                          auth=as_other)
        assert status == 409 and "another namespace" in body["error"]
        status, listed = await lab.api.call("GET", "invokers/tokens", auth=as_other)
        assert (status, listed) == (200, [])
        status, body = await lab.api.call("DELETE", "invokers/tokens/tok-c", auth=as_other)
        assert status == 404, body

    run(controller, scenario)


UNAUTHORISED = [
    ("creating without a key", "POST", "_", "invokers/tokens", False, 401),
    ("listing without a key", "GET", "_", "invokers/tokens", False, 401),
    ("revoking without a key", "DELETE", "_", "invokers/tokens/x", False, 401),
    ("listing invokers without a key", "GET", "_", "invokers", False, 401),
    ("creating with a wrong key", "POST", "_", "invokers/tokens", "wrong", 401),
    ("creating in another namespace", "POST", "someone", "invokers/tokens", True, 403),
    ("listing another namespace's tokens", "GET", "someone", "invokers/tokens", True, 403),
    ("revoking in another namespace", "DELETE", "someone", "invokers/tokens/x", True, 403),
    ("listing another namespace's invokers", "GET", "someone", "invokers", True, 403),
]


@pytest.mark.parametrize(("method", "namespace", "path", "auth", "status"),
                         [case[1:] for case in UNAUTHORISED], ids=[c[0] for c in UNAUTHORISED])
def test_the_token_endpoints_answer_401_and_403_as_the_rest_of_the_api(
        controller: Controller, method: str, namespace: str, path: str, auth: object,
        status: int) -> None:
    async def scenario(lab: Lab) -> None:
        key: str | bool = (
            "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:nope" if auth == "wrong" else bool(auth))
        got, body = await lab.api.call(method, path, {"id": "x"} if method == "POST" else None,
                                       auth=key, namespace=namespace)
        assert got == status, body
        assert body["error"]

    run(controller, scenario)


def _headers(case: str, token: str, other_id: str, guest_key: str) -> dict[str, str]:
    """The handshake headers of one refusal ``case`` (``token`` is a valid one)."""
    id, _, secret = token.partition(":")
    return {
        "no token": {},
        "an empty bearer": {"Authorization": "Bearer "},
        "a wrong secret": {"Authorization": f"Bearer {id}:{'x' * 64}"},
        "an unknown invoker id": {"Authorization": f"Bearer nobody:{secret}"},
        "another invoker's id with this secret": {"Authorization": f"Bearer {other_id}:{secret}"},
        "the namespace key instead": {"Authorization": basic(guest_key)},
        "no scheme": {"Authorization": token},
    }[case]


REFUSALS = ["no token", "an empty bearer", "a wrong secret", "an unknown invoker id",
            "another invoker's id with this secret", "the namespace key instead", "no scheme"]


@pytest.mark.parametrize("case", REFUSALS)
def test_the_tunnel_refuses_a_connection_without_a_valid_token(controller: Controller,
                                                              case: str) -> None:
    async def scenario(lab: Lab) -> None:
        n = REFUSALS.index(case)
        token = await lab.api.token(f"tok-d{n}")
        await lab.api.token(f"tok-e{n}")
        headers = _headers(case, token, f"tok-e{n}", controller.auth)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await lab.http.ws_connect(ws_url(controller.api_host), headers=headers)
        assert refused.value.status == 401

    run(controller, scenario)


def test_a_revoked_token_is_refused(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        token = await lab.api.token("tok-f")
        status, _ = await lab.api.call("DELETE", "invokers/tokens/tok-f")
        assert status == 200
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await lab.device("tok-f", token).connect()
        assert refused.value.status == 401

    run(controller, scenario)


def test_a_plain_http_request_to_the_tunnel_is_a_400(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        token = await lab.api.token("tok-g")
        url = ws_url(controller.api_host).replace("ws://", "http://")
        async with lab.http.get(url, headers={"Authorization": f"Bearer {token}"}) as answer:
            assert answer.status == 400
            assert "WebSocket" in (await answer.json())["error"]

    run(controller, scenario)
