"""Bad requests of every sort get a clean ``{"error", "code"}`` answer and the server lives on."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
import requests
from edgewhisk_client import NAMESPACES, Unreachable

from .harness import Client, Controller, create_action

HELLO = "def main(args):\n    return args\n"


def _is_error(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code"} and body["error"]
    assert response.headers["X-Request-ID"] == body["code"]


@pytest.mark.parametrize(
    "path, body",
    [
        ("actions/broken", "{\"exec\": "),
        ("actions/broken", "\xff\xfe not utf-8"),
        ("actions/broken", "[1, 2, 3]"),
        ("triggers/broken", "{'single': 'quotes'}"),
        ("rules/broken", "NaN-ish garbage"),
    ],
    ids=["truncated JSON", "bytes that are no UTF-8", "a list instead of an object",
         "single quotes", "garbage"],
)
def test_malformed_bodies_are_400(guest: Client, path: str, body: str) -> None:
    response = guest.request("PUT", path, data=body.encode("latin-1"),
                             headers={"Content-Type": "application/json"})
    _is_error(response, 400)
    assert guest.request("GET", path).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["actions/pkg/nested", "actions/a/b/c", "/api/v2/anything", "/nothing/here",
     "activations/a/b/c"],
    ids=["an action of a package that does not exist", "too deep under actions",
         "another API version", "outside the API", "too deep under activations"],
)
def test_unknown_routes_are_404(guest: Client, path: str) -> None:
    _is_error(guest.request("GET", path), 404)


@pytest.mark.parametrize(
    "method, path",
    [("PATCH", "actions/x"), ("POST", "actions"), ("PUT", "activations"),
     ("PUT", "activations/0123"), ("PUT", NAMESPACES), ("POST", "/ping")],
    ids=["PATCH an action", "POST the action list", "PUT the activation list",
         "PUT an activation (DELETE cancels a pending one)", "PUT the namespace list",
         "POST ping"],
)
def test_wrong_methods_are_405_with_allow(guest: Client, method: str, path: str) -> None:
    response = guest.request(method, path, json={})
    _is_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_payload_just_over_one_mebibyte_is_413_and_one_just_under_is_fine(
    guest: Client,
) -> None:
    create_action(guest, "sized", HELLO)
    envelope = len('{"x":""}')
    fits = '{"x":"' + "a" * (1024 * 1024 - envelope) + '"}'
    over = '{"x":"' + "a" * (1024 * 1024 - envelope + 1) + '"}'
    assert guest.request("POST", "actions/sized", data=fits).status_code == 202
    response = guest.request("POST", "actions/sized", data=over)
    _is_error(response, 413)
    assert "1048576" in response.json()["error"]


def test_a_body_over_the_server_maximum_is_413(guest: Client) -> None:
    body = b'{"exec": {"kind": "python:3", "code": "' + b"#" * (64 * 1024 * 1024) + b'"}}'
    try:
        response = guest.request("PUT", "actions/enormous", data=body)
    except Unreachable:  # the server may close before reading it all
        pass
    else:
        _is_error(response, 413)
    assert guest.request("GET", "actions/enormous").status_code == 404


def test_garbage_on_the_socket_does_not_hurt_the_server(controller: Controller,
                                                        guest: Client) -> None:
    address = urlsplit(controller.api_host)
    # deliberately malformed raw HTTP on a socket (no client would send it): kept as bytes
    for garbage in (b"\x00\x01\x02 nonsense\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                    b"PUT /api/v1/namespaces/_/actions/x HTTP/1.1\r\nContent-Length: 99\r\n\r\n{"):
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(65536)
    assert guest.namespaces() == ["guest"]
