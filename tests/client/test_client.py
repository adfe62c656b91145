"""``edgewhisk_client.Client`` against a real controller (started by ``edgewhisk_devkit``): the
URL rules, every typed call the CLI, the agent, the demo and the benches make, and the one
exception tree (refused, unreachable, not recorded, a download that does not verify)."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from edgewhisk_client import (
    Client,
    DigestMismatch,
    HttpError,
    NotRecorded,
    Unreachable,
)
from edgewhisk_client.artifacts import save
from edgewhisk_devkit import Controller

HELLO = {"exec": {"kind": "python:3",
                  "code": "def main(args):\n    return {'hello': args.get('name', '?')}\n"}}
FAILS = {"exec": {"kind": "python:3", "code": "def main(args):\n    return {'error': 'no'}\n"}}


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    with Controller(tmp_path_factory.mktemp("client") / "data").start() as controller:
        yield controller


@pytest.fixture
def client(controller: Controller) -> Iterator[Client]:
    with controller.client() as client:
        yield client


def test_paths_are_under_the_namespace_unless_they_start_with_a_slash() -> None:
    client = Client("127.0.0.1:3233/", "u:k", namespace="a b")
    assert client.api_host == "https://127.0.0.1:3233"  # wsk's rule: no scheme is HTTPS
    assert client.url("actions/x?blocking=true") == \
        "https://127.0.0.1:3233/api/v1/namespaces/a%20b/actions/x?blocking=true"
    assert client.url("actions", namespace="other") == \
        "https://127.0.0.1:3233/api/v1/namespaces/other/actions"
    assert client.url("/ping") == "https://127.0.0.1:3233/ping"


def test_an_action_is_put_read_invoked_and_its_record_listed(client: Client) -> None:
    stored = client.actions.put("client-hello", HELLO)
    assert stored["name"] == "client-hello" and client.actions.get("client-hello") == stored
    assert "client-hello" in [a["name"] for a in client.actions.list()]
    done = client.actions.invoke("client-hello", {"name": "edge"})
    assert (done.status, done.success, done.result) == (200, True, {"hello": "edge"})
    assert done.annotation("invoker") == "local0" and done.round_trip_s > 0
    assert done.id in [r["activationId"] for r in client.activations.list(limit=5)]
    assert client.activations.get(done.id)["activationId"] == done.id


def test_a_non_blocking_invoke_is_waited_for(client: Client) -> None:
    client.actions.put("client-later", HELLO)
    activation_id = client.actions.start("client-later", {"name": "later"})
    record = client.activations.wait(activation_id, timeout_s=60)
    assert record["response"]["result"] == {"hello": "later"}


def test_a_failed_activation_is_an_answer_not_an_error(client: Client) -> None:
    client.actions.put("client-fails", FAILS)
    done = client.actions.invoke("client-fails")
    assert (done.status, done.success) == (502, False)
    assert done.response["status"] == "application error"


def test_a_refusal_carries_the_status_and_the_controllers_message(client: Client) -> None:
    with pytest.raises(HttpError) as refused:
        client.actions.get("no-such-action")
    assert refused.value.status == 404 and refused.value.error
    assert str(refused.value).endswith("(HTTP 404)")
    with pytest.raises(HttpError) as conflict:
        client.actions.put("client-hello", HELLO, overwrite=False)
    assert conflict.value.status == 409


def test_an_activation_never_recorded_times_out(client: Client) -> None:
    with pytest.raises(NotRecorded, match="was not recorded within 0.3 s"):
        client.activations.wait("0" * 32, timeout_s=0.3)


def test_no_controller_is_unreachable() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", "u:k") as client, \
            pytest.raises(Unreachable) as refused:
        client.namespaces()
    # one line naming the cause, not requests' and urllib3's wrappers around it
    assert str(refused.value) == (f"cannot reach the controller at http://127.0.0.1:{port}: "
                                  "Connection refused")


def test_the_namespace_and_its_invokers(client: Client, controller: Controller) -> None:
    assert client.namespaces() == ["guest"]
    (local,) = client.invokers()  # the controller's own; no edge invoker has registered
    assert (local["id"], local["where"], local["connected"], local["online"]) == (
        "local0", "local", False, True)
    assert local["store"]["capacity_bytes"] > 0 and local["version"]
    with Client(controller.api_host, None) as anonymous, pytest.raises(HttpError) as refused:
        anonymous.namespaces()
    assert refused.value.status == 401


def test_device_tokens_are_created_listed_and_revoked(client: Client) -> None:
    created = client.tokens.create("client-pi")
    assert created["token"].startswith("client-pi:")
    assert [t["id"] for t in client.tokens.list()] == ["client-pi"]
    assert client.tokens.revoke("client-pi")["revoked"] is True
    assert client.tokens.list() == []


def test_an_artifact_is_uploaded_listed_downloaded_and_deleted(client: Client,
                                                               tmp_path: Path) -> None:
    data = b"weights " * 1000
    source = tmp_path / "model.bin"
    source.write_bytes(data)
    with open(source, "rb") as body:
        stored = client.artifacts.put("client/model", body, kind="model", format="bytes",
                                      sha256=hashlib.sha256(data).hexdigest(),
                                      metadata={"type": "classifier"})
    assert (stored["name"], stored["version"], stored["size"]) == ("client/model", 1, len(data))
    assert client.artifacts.get("client/model@1")["metadata"] == {"type": "classifier"}
    assert [d["name"] for d in client.artifacts.list(kind="model", name="client/model")] == [
        "client/model"]
    seen: list[tuple[int, int]] = []
    done = client.artifacts.download("client/model", tmp_path / "out" / "model.bin",
                                     lambda written, total: seen.append((written, total)))
    assert (done.name, done.version, done.size) == ("client/model", 1, len(data))
    assert (tmp_path / "out" / "model.bin").read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    assert client.artifacts.delete("client/model@1")["version"] == 1


def test_a_download_that_does_not_verify_writes_nothing(tmp_path: Path) -> None:
    chunks = [b"the real ", b"bytes"]
    with pytest.raises(DigestMismatch, match="was not written"):
        save(chunks, tmp_path / "checked.bin", "0" * 64)
    assert list(tmp_path.iterdir()) == []
    expected = hashlib.sha256(b"the real bytes").hexdigest()
    assert save(chunks, tmp_path / "checked.bin", expected) == len(b"the real bytes")
    assert (tmp_path / "checked.bin").read_bytes() == b"the real bytes"
