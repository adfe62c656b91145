"""The routes API through the reference JavaScript client (``routes``, the calls of ``wsk api
create|list|delete``) and the routes served by the controller as the API gateway would.

Expectations: apache/openwhisk:docs/apigateway.md (an API per base path, operations mapping
a path and verb to a web action, ``--response-type``, path parameters reaching the action in
``__ow_path``) and route management's answers (``core/routemgmt``: ``createApi`` returns the
API, ``getApi`` ``{"apis": [...]}`` with Swagger ``x-openwhisk`` operations). The subset kept
is the one ``schema/routes.py`` states (no whole-Swagger uploads).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from .harness import Controller, create_action, js_scenario

ECHO = "def main(args):\n    return {'path': args.get('__ow_path'), 'q': args.get('q')}\n"


def test_routes_are_created_listed_and_deleted_with_the_js_client(controller: Controller) -> None:
    seen = js_scenario(controller, "routes.js")
    hello = seen["hello"]["value"]
    assert hello["gwApiUrl"] == f"{controller.api_host}/api/gw/guest/hello"
    operation = hello["apidoc"]["paths"]["/world"]["get"]
    assert operation["x-openwhisk"]["action"] == "js-greeter"
    assert operation["x-openwhisk"]["url"].endswith("/api/v1/web/guest/default/js-greeter.json")
    assert operation["operationId"] == "getWorld"
    assert hello["apidoc"]["info"]["title"] == "Hello API"
    club = seen["club"]["value"]["apidoc"]["paths"]["/books/{isbn}"]["put"]
    assert club["x-openwhisk"]["url"].endswith(".http")
    assert {a["value"]["apidoc"]["basePath"] for a in seen["listed"]["apis"]} >= {"/hello",
                                                                                 "/club"}
    assert [a["value"]["apidoc"]["basePath"] for a in seen["byName"]["apis"]] == ["/hello"]
    assert seen["deleted"] == {}
    assert list(seen["after"]["apis"][0]["value"]["apidoc"]["paths"]) == ["/books"]
    answer = requests.get(f"{hello['gwApiUrl']}/world", params={"name": "gateway"}, timeout=120)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"hello": "gateway", "path": "/hello/world", "method": "get"}


def _api(controller: Controller, method: str, op: str, **kw: Any) -> requests.Response:
    with controller.client() as guest:
        return guest.request(method, f"/api/v1/web/whisk.system/apimgmt/{op}", **kw)


def _create(controller: Controller, base: str, path: str, verb: str, action: str,
            responsetype: str = "json", **extra: Any) -> requests.Response:
    apidoc = {"namespace": "_", "gatewayBasePath": base, "gatewayPath": path,
              "gatewayMethod": verb, "id": f"API:_:{base}",
              "action": {"name": action, "namespace": "guest", "backendMethod": "GET",
                         "backendUrl": "http://x/api/v1/web/guest/default/a.http",
                         "authkey": "k", **extra}}
    return _api(controller, "POST", "createApi", params={"responsetype": responsetype},
                json={"apidoc": apidoc})


def test_path_parameters_and_the_http_response_type(controller: Controller) -> None:
    """apache/openwhisk:docs/apigateway.md ("book club"): with ``--response-type http`` and a
    path parameter, the action sees the whole path in ``__ow_path``; another verb or path is
    a 404."""
    with controller.client() as guest:
        create_action(guest, "books", ECHO, annotations=[{"key": "web-export", "value": True}])
    assert _create(controller, "/library", "/books/{isbn}", "delete", "books",
                   "json").status_code == 200
    url = f"{controller.api_host}/api/gw/guest/library/books/978-0596517748"
    answer = requests.delete(url, params={"q": "1"}, timeout=120)
    assert answer.json() == {"path": "/library/books/978-0596517748", "q": "1"}
    assert requests.get(url, timeout=60).status_code == 404
    assert requests.delete(url + "/more", timeout=60).status_code == 404


def test_a_secure_key_is_sent_to_a_web_action_that_requires_it(controller: Controller) -> None:
    """``createApi``'s ``secureKey``: the gateway sends the action's ``require-whisk-auth``
    secret as ``X-Require-Whisk-Auth``; a caller's own header does not count."""
    with controller.client() as guest:
        create_action(guest, "guarded", ECHO, annotations=[
            {"key": "web-export", "value": True}, {"key": "require-whisk-auth", "value": "k3y"}])
    assert _create(controller, "/vault", "/open", "get", "guarded").status_code == 200
    url = f"{controller.api_host}/api/gw/guest/vault/open"
    assert requests.get(url, timeout=60).status_code == 401
    assert _create(controller, "/vault", "/open", "get", "guarded",
                   secureKey="k3y").status_code == 200
    assert requests.get(url, timeout=60).status_code == 200


@pytest.mark.parametrize(
    "body, error",
    [
        ({}, "apidoc is required."),
        ({"apidoc": {"namespace": "_"}}, "apidoc is missing the gatewayBasePath field"),
        ({"apidoc": {"namespace": "_", "gatewayBasePath": "/a", "gatewayPath": "/b",
                     "gatewayMethod": "get"}}, "apidoc is missing the action field."),
        ({"apidoc": {"namespace": "_", "gatewayBasePath": "/a", "gatewayPath": "/b",
                     "gatewayMethod": "get", "action": {"name": "x"}}},
         "action is missing the backendMethod field."),
        ({"apidoc": {"namespace": "_", "swagger": {}}}, "swagger: a whole Swagger document"),
    ],
    ids=["no apidoc", "no base path", "no action", "an action without backendMethod",
         "a whole swagger document"],
)
def test_bad_route_requests_are_refused_with_route_management_s_messages(
        controller: Controller, body: dict[str, Any], error: str) -> None:
    answer = _api(controller, "POST", "createApi", json=body)
    assert answer.status_code == 502 and answer.json()["error"].startswith(error)


def test_route_management_needs_a_key_and_deletes_need_a_base_path(
        controller: Controller) -> None:
    anonymous = requests.get(f"{controller.api_host}/api/v1/web/whisk.system/apimgmt/getApi",
                             timeout=60)
    assert anonymous.status_code == 401
    assert _api(controller, "DELETE", "deleteApi").json()["error"] == "basepath is required."
    assert _api(controller, "DELETE", "deleteApi", params={
        "basepath": "/x", "operation": "get"}).json()["error"] == (
        "When specifying an operation, the path is required.")
