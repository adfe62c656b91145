"""Web actions over plain HTTP, as apache/openwhisk:docs/webactions.md describes them and
``WebActions.scala`` (``WhiskWebActionsApi``, the media transcoders, ``Messages``) answers."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from .harness import Client, Controller, create_action

ECHO = "def main(args):\n    return args\n"
HTTP = ("def main(args):\n"
        "    return {'statusCode': 201, 'headers': {'X-Made': 'by-action', 'Set-Cookie': "
        "['a=1', 'b=2']}, 'body': '<h1>' + args.get('name', 'nobody') + '</h1>'}\n")
IMAGE = ("import base64\ndef main(args):\n"
         "    return {'headers': {'Content-Type': 'image/png'}, "
         "'body': base64.b64encode(b'\\x89PNG raw').decode()}\n")
SHAPES = ("def main(args):\n    return {'html': '<p>hi</p>', 'svg': '<svg/>', "
          "'text': 'plain', 'n': 1}\n")
FAILS = "def main(args):\n    return {'error': {'statusCode': 418, 'body': 'teapot'}}\n"
CRASH = "def main(args):\n    raise SystemExit(3)\n"


def _web(controller: Controller, path: str, method: str = "GET", **kw: Any) -> requests.Response:
    return requests.request(method, f"{controller.api_host}/api/v1/web/guest/{path}",
                            timeout=120, **kw)


@pytest.fixture(scope="module")
def exported(controller: Controller) -> None:
    with controller.client() as guest:
        web = [{"key": "web-export", "value": True}]
        create_action(guest, "echo", ECHO, annotations=web,
                      parameters=[{"key": "fixed", "value": "yes"}])
        create_action(guest, "page", HTTP, annotations=web)
        create_action(guest, "image", IMAGE, annotations=web)
        create_action(guest, "shapes", SHAPES, annotations=web)
        create_action(guest, "fails", FAILS, annotations=web)
        create_action(guest, "fails-text", "def main(args):\n    return {'error': 'text'}\n",
                      annotations=web)
        create_action(guest, "crashes", CRASH, annotations=web)
        create_action(guest, "raw", ECHO, annotations=[*web, {"key": "raw-http", "value": True}])
        create_action(guest, "sealed", ECHO, annotations=[*web, {"key": "final", "value": True}],
                      parameters=[{"key": "fixed", "value": "yes"}])
        create_action(guest, "secret", ECHO, annotations=[
            *web, {"key": "require-whisk-auth", "value": "s3cr3t"}])
        create_action(guest, "members", ECHO, annotations=[
            *web, {"key": "require-whisk-auth", "value": True}])
        create_action(guest, "private", ECHO)
        guest.request("PUT", "packages/site", json={})
        create_action(guest, "site/index", HTTP, annotations=web)


def test_the_http_context_reaches_the_action(controller: Controller, exported: None) -> None:
    """apache/openwhisk:docs/webactions.md ("HTTP context"): ``__ow_method``,
    ``__ow_headers``, ``__ow_path``; query parameters and JSON body fields as arguments, the
    body winning; no ``__ow_user`` for an anonymous caller."""
    answer = _web(controller, "default/echo.json/some/path?q=1&name=query", "POST",
                  json={"name": "body", "n": 2}, headers={"X-Custom": "yes"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    args = answer.json()
    assert args["__ow_method"] == "post" and args["__ow_path"] == "/some/path"
    assert args["__ow_headers"]["x-custom"] == "yes"
    assert args["q"] == "1" and args["name"] == "body" and args["n"] == 2
    assert args["fixed"] == "yes" and "__ow_user" not in args
    assert answer.headers["x-openwhisk-activation-id"]
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_form_text_and_binary_bodies(controller: Controller, exported: None) -> None:
    """A form's fields are arguments; a text body is ``__ow_body`` as it is, a binary one
    base64 (``extractEntityAndProcessRequest``)."""
    form = _web(controller, "default/echo.json", "POST", data={"colour": "red"}).json()
    assert form["colour"] == "red"
    text = _web(controller, "default/echo.json", "PUT", data="hello",
                headers={"Content-Type": "text/plain"}).json()
    assert text["__ow_body"] == "hello" and text["__ow_method"] == "put"
    binary = _web(controller, "default/echo.json", "POST", data=b"\x00\x01",
                  headers={"Content-Type": "application/octet-stream"}).json()
    assert base64.b64decode(binary["__ow_body"]) == b"\x00\x01"


def test_a_raw_http_action_gets_the_query_and_body_untouched(controller: Controller,
                                                            exported: None) -> None:
    args = _web(controller, "default/raw.json?a=1&b=2", "POST", json={"x": 1}).json()
    assert args["__ow_query"] == "a=1&b=2"
    assert base64.b64decode(args["__ow_body"]) == b'{"x": 1}'
    assert "a" not in args and "x" not in args


def test_the_http_extension_answers_status_headers_and_body(controller: Controller,
                                                           exported: None) -> None:
    """``resultAsHttp``: ``statusCode``, ``headers`` (a list gives repeated headers) and a
    string ``body`` as ``text/html`` unless the headers say; ``.http`` is the default."""
    for path in ("default/page.http?name=web", "default/page?name=web", "site/index?name=web"):
        answer = _web(controller, path)
        assert answer.status_code == 201, answer.text
        assert answer.text == "<h1>web</h1>" and answer.headers["X-Made"] == "by-action"
        assert answer.headers["Content-Type"].startswith("text/html")
        assert answer.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    image = _web(controller, "default/image.http")
    assert image.content == b"\x89PNG raw" and image.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    "extension, status, content_type, body",
    [(".html", 200, "text/html", "<p>hi</p>"), (".svg", 200, "image/svg+xml", "<svg/>"),
     (".text", 200, "text/plain", "plain")],
    ids=["html takes the html field", "svg takes the svg field", "text takes the text field"],
)
def test_content_types_follow_the_extension(controller: Controller, exported: None,
                                            extension: str, status: int, content_type: str,
                                            body: str) -> None:
    answer = _web(controller, f"default/shapes{extension}")
    assert answer.status_code == status and answer.text == body
    assert answer.headers["Content-Type"].startswith(content_type)


def test_an_application_error_is_answered_from_its_error_field(controller: Controller,
                                                               exported: None) -> None:
    """``completeRequest``: an application error's ``error`` is transcoded like a result; a
    developer error is 400 ``There was an error processing your request.``"""
    teapot = _web(controller, "default/fails.http")
    assert teapot.status_code == 418 and teapot.text == "teapot"
    crashed = _web(controller, "default/crashes.json")
    assert crashed.status_code == 400
    assert crashed.json()["error"] == "There was an error processing your request."


@pytest.mark.parametrize(
    "path, method, kw, status, error",
    [
        ("default/private.json", "GET", {}, 404, "The requested resource does not exist."),
        ("default/nothing.json", "GET", {}, 404, "The requested resource does not exist."),
        ("default/echo.json?__ow_method=x", "GET", {}, 400,
         "Request defines parameters that are not allowed (e.g., reserved properties)."),
        ("default/sealed.json?fixed=no", "GET", {}, 400,
         "Request defines parameters that are not allowed (e.g., reserved properties)."),
        ("default/fails-text.json", "GET", {}, 400,
         "Response is not valid 'application/json'."),
        ("default/echo.text", "GET", {}, 404, "Response does not include requested property."),
        ("default/secret.json", "GET", {}, 401, None),
        ("default/secret.json", "GET", {"headers": {"X-Require-Whisk-Auth": "nope"}}, 401, None),
        ("default/members.json", "GET", {}, 401, None),
    ],
    ids=["an action that is not exported", "an action that does not exist",
         "a query setting a reserved __ow_ field", "a query overriding a final parameter",
         "json of an error that is no JSON object", "text of a result without a text field",
         "a secret action without its secret", "a secret action with a wrong secret",
         "a members-only action without a key"],
)
def test_refusals_use_upstream_s_statuses_and_messages(
        controller: Controller, exported: None, path: str, method: str, kw: dict[str, Any],
        status: int, error: str | None) -> None:
    answer = _web(controller, path, method, **kw)
    assert answer.status_code == status, answer.text
    if error is not None:
        assert answer.json()["error"] == error


def test_require_whisk_auth_lets_the_secret_or_a_key_through(controller: Controller,
                                                             exported: None) -> None:
    """apache/openwhisk:docs/webactions.md ("Securing web actions"): the annotation's value in
    the ``X-Require-Whisk-Auth`` header, or (for ``true``) a valid key, which ``__ow_user``
    then names."""
    secret = _web(controller, "default/secret.json",
                  headers={"X-Require-Whisk-Auth": "s3cr3t"})
    assert secret.status_code == 200
    with controller.client() as guest:
        user, _, key = guest.auth.partition(":") if guest.auth else ("", "", "")
    member = _web(controller, "default/members.json", auth=(user, key))
    assert member.status_code == 200 and member.json()["__ow_user"] == "guest"


def test_options_answers_cors_without_running_the_action(controller: Controller,
                                                         guest: Client, exported: None) -> None:
    before = len(guest.request("GET", "activations?name=echo&limit=200").json())
    answer = _web(controller, "default/echo.json", "OPTIONS")
    assert answer.status_code == 200
    assert "PATCH" in answer.headers["Access-Control-Allow-Methods"]
    assert len(guest.request("GET", "activations?name=echo&limit=200").json()) == before


def test_the_activation_belongs_to_the_action_s_owner(controller: Controller,
                                                      guest: Client, exported: None) -> None:
    answer = _web(controller, "default/echo.json")
    record = guest.activations.get(answer.headers["x-openwhisk-activation-id"])
    assert record["namespace"] == "guest" and record["subject"] == "guest"
