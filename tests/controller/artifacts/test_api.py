"""The artifacts REST API through a real controller process: upload, metadata, versions,
listing with filters, download where the locality allows it (and refusals naming the rule
where it does not), digest and size checks, selector resolution, auth on every endpoint,
malformed input; and the same round trip with an S3 blob store (a real moto server)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from ..api.harness import Client, Controller, started
from .conftest import S3Server

MAX_SIZE = 100_000
HELLO = "def main(args):\n    return args\n"
GLUCOSE = {"type": "classifier", "trained_on": "glucose"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifacts-api") / "data"


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    yield from started(data_dir, "--artifact-max-size", str(MAX_SIZE))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(client: Client, name: str, data: bytes | None = b"", *, kind: str = "model",
        **query: Any) -> requests.Response:
    params = {"kind": kind, **{k: json.dumps(v) if isinstance(v, dict) else str(v)
                               for k, v in query.items()}}
    return client.request("PUT", f"artifacts/{name}", params=params, data=data)


def uploaded(client: Client, name: str, data: bytes, **query: Any) -> dict[str, Any]:
    response = put(client, name, data, sha256=sha(data), **query)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def activation_of(client: Client) -> str:
    """The id of an activation of ``client``'s namespace (a registration may name it)."""
    client.actions.put("maker", {"exec": {"kind": "python:3", "code": HELLO}},
                       overwrite=True)
    response = client.request("POST", "actions/maker", params={"blocking": "true"}, json={})
    assert response.status_code == 200, response.text
    return str(response.json()["activationId"])


def device_of(client: Client, id: str) -> str:
    """``id``, with a device token of ``client``'s namespace (a registration's holder)."""
    response = client.request("POST", "invokers/tokens", params={"overwrite": "true"},
                              json={"id": id})
    assert response.status_code == 200, response.text
    return id


def test_an_upload_reads_back_as_metadata_versions_and_content(guest: Client) -> None:
    made_by = activation_of(guest)
    first = uploaded(guest, "rt/model", b"one", format="npz", metadata=GLUCOSE,
                     metrics={"accuracy": 0.8}, lineage={"data": "rt/data@1"},
                     created_by=made_by)
    second = uploaded(guest, "rt/model", b"two!")
    assert (first["version"], second["version"]) == (1, 2)
    assert {k: first[k] for k in ("name", "kind", "format", "size", "sha256", "locality",
                                  "owner", "copies", "created_by", "lineage", "metadata")} == {
        "name": "rt/model", "kind": "model", "format": "npz", "size": 3, "sha256": sha(b"one"),
        "locality": "cloud", "owner": "guest", "copies": ["cloud"], "created_by": made_by,
        "lineage": {"data": "rt/data@1"}, "metadata": GLUCOSE}
    assert guest.request("GET", "artifacts/rt/model").json() == second
    assert guest.request("GET", "artifacts/rt/model@1").json() == first
    versions = guest.request("GET", "artifacts/rt/model/versions").json()
    assert [v["version"] for v in versions] == [2, 1]
    latest = guest.request("GET", "artifacts/rt/model/content")
    assert (latest.status_code, latest.content) == (200, b"two!")
    assert latest.headers["X-Edgewhisk-Sha256"] == sha(b"two!")
    assert guest.request("GET", "artifacts/rt/model@1/content").content == b"one"


def test_twenty_concurrent_uploads_through_the_api_get_versions_one_to_twenty(
        controller: Controller) -> None:
    def upload(i: int) -> int:
        with controller.client() as client:
            return int(uploaded(client, "race/model", b"%d" % i)["version"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        versions = list(pool.map(upload, range(20)))
    assert sorted(versions) == list(range(1, 21))


def test_a_delete_removes_the_version_and_its_content(guest: Client, data_dir: Path) -> None:
    uploaded(guest, "gone", b"bye")
    deleted = guest.request("DELETE", "artifacts/gone@1")
    assert (deleted.status_code, deleted.json()["version"]) == (200, 1)
    assert guest.request("GET", "artifacts/gone@1").status_code == 404
    assert guest.request("GET", "artifacts/gone@1/content").status_code == 404
    assert not (data_dir / "blobs" / "data" / "guest" / "gone@1").exists()
    assert guest.request("DELETE", "artifacts/gone@1").status_code == 404
    assert uploaded(guest, "gone", b"again")["version"] == 2


@pytest.mark.parametrize("query, names", [
    pytest.param({"kind": "data"}, ["ls/readings"], id="by kind"),
    pytest.param({"name": "ls/base"}, ["ls/base", "ls/base"], id="by name, every version"),
    pytest.param({"type": "classifier", "trained_on": "glucose"}, ["ls/base", "ls/base"],
                 id="by type and trained_on"),
    pytest.param({"locality": "local"}, ["ls/u1-model"], id="by locality"),
    pytest.param({"owner": "u1"}, ["ls/u1-model"], id="by owner"),
    pytest.param({"kind": "model", "limit": "2"}, ["ls/u1-model", "ls/base"],
                 id="newest first, limited"),
    pytest.param({"kind": "model", "skip": "2"}, ["ls/base"], id="skipping"),
])
def test_listing_filters_the_namespaces_versions(other: Client, query: dict[str, str],
                                                 names: list[str]) -> None:
    if not other.request("GET", "artifacts").json():  # the other namespace: this table's only
        uploaded(other, "ls/base", b"1", metadata=GLUCOSE)
        uploaded(other, "ls/base", b"2", metadata=GLUCOSE)
        uploaded(other, "ls/readings", b"r", kind="data")
        response = put(other, "ls/u1-model", None, locality="local",
                       held_by=device_of(other, "pi-other"), sha256=sha(b"m"), size=1,
                       owner="u1")
        assert response.status_code == 200, response.text
    listed = other.request("GET", "artifacts", params=query)
    assert listed.status_code == 200, listed.text
    assert [d["name"] for d in listed.json()] == names


@pytest.mark.parametrize("locality, rule", [
    pytest.param("local", "artifact u1/glucose-model is local to its device; only its "
                 "metadata leaves it", id="a local artifact"),
    pytest.param("network:home", "artifact u1/glucose-model is restricted to network home",
                 id="a network artifact"),
])
def test_content_that_may_not_leave_its_devices_is_refused_naming_the_rule(
        guest: Client, locality: str, rule: str) -> None:
    refused = put(guest, "u1/glucose-model", b"weights", locality=locality)
    assert refused.status_code == 403 and refused.json()["error"].startswith(rule)
    response = put(guest, "u1/glucose-model", None, locality=locality,
                   held_by=device_of(guest, "pi1"),
                   sha256=sha(b"weights"), size=7)
    assert response.status_code == 200, response.text
    version = response.json()["version"]
    metadata = guest.request("GET", f"artifacts/u1/glucose-model@{version}")
    assert metadata.status_code == 200 and metadata.json()["copies"] == ["pi1"]
    download = guest.request("GET", f"artifacts/u1/glucose-model@{version}/content")
    assert download.status_code == 403
    assert download.json()["error"].startswith(rule)


def test_a_digest_mismatch_is_refused_and_stores_nothing(guest: Client, data_dir: Path) -> None:
    refused = put(guest, "sha/m", b"actual bytes", sha256=sha(b"other bytes"))
    assert refused.status_code == 400
    assert f"has sha256 {sha(b'actual bytes')}, not the {sha(b'other bytes')}" in \
        refused.json()["error"]
    assert guest.request("GET", "artifacts/sha/m").status_code == 404
    folder = data_dir / "blobs"
    assert not list((folder / "data" / "guest").glob("sha/*"))
    assert list((folder / "tmp").iterdir()) == []


@pytest.mark.parametrize("chunked", [pytest.param(False, id="announced by Content-Length"),
                                     pytest.param(True, id="found while streaming")])
def test_an_upload_over_the_size_limit_is_413_and_stores_nothing(guest: Client,
                                                                 chunked: bool) -> None:
    data = b"\x00" * (MAX_SIZE + 1)
    body: Any = iter([data[:50_000], data[50_000:]]) if chunked else data
    refused = put(guest, "big/blob", body)
    assert refused.status_code == 413, refused.text
    assert f"limit of {MAX_SIZE} bytes" in refused.json()["error"]
    assert guest.request("GET", "artifacts/big/blob").status_code == 404
    assert uploaded(guest, "big/exact", b"\x00" * MAX_SIZE)["size"] == MAX_SIZE


def test_resolve_picks_one_version_or_answers_404_with_the_candidates(guest: Client) -> None:
    uploaded(guest, "sel/base", b"1", metadata=GLUCOSE, metrics={"accuracy": 0.7})
    uploaded(guest, "sel/base", b"2", metadata=GLUCOSE, metrics={"accuracy": 0.9})
    chosen = guest.request("POST", "artifacts/resolve",
                           json={"selector": {**GLUCOSE, "order": "best:accuracy"}})
    assert (chosen.status_code, chosen.json()["name"], chosen.json()["version"]) == \
        (200, "sel/base", 2)
    none = guest.request("POST", "artifacts/resolve",
                         json={"selector": {**GLUCOSE, "metrics": {"accuracy": ">=0.95"}}})
    assert none.status_code == 404
    assert none.json()["candidates"][:2] == [
        {"artifact": "sel/base@2", "failed": ["accuracy 0.9 fails >=0.95"]},
        {"artifact": "sel/base@1", "failed": ["accuracy 0.7 fails >=0.95"]}]
    assert "closest: sel/base@2: accuracy 0.9 fails >=0.95" in none.json()["error"]


ENDPOINTS = [
    pytest.param("GET", "artifacts", id="list"),
    pytest.param("GET", "artifacts/auth/m", id="latest metadata"),
    pytest.param("GET", "artifacts/auth/m/versions", id="versions"),
    pytest.param("GET", "artifacts/auth/m@1", id="one version"),
    pytest.param("GET", "artifacts/auth/m@1/content", id="content"),
    pytest.param("PUT", "artifacts/auth/m?kind=model", id="upload"),
    pytest.param("DELETE", "artifacts/auth/m@1", id="delete"),
    pytest.param("POST", "artifacts/resolve", id="resolve"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_every_endpoint_refuses_another_namespace_and_a_missing_key(
        guest: Client, other: Client, controller: Controller, method: str, path: str) -> None:
    if guest.request("GET", "artifacts/auth/m@1").status_code == 404:
        uploaded(guest, "auth/m", b"secret")
    body = {"json": {"selector": {"type": "classifier"}}} if method == "POST" else {}
    assert other.request(method, path, namespace="guest", **body).status_code == 403
    with Client(controller.api_host, None) as anonymous:
        assert anonymous.request(method, path, namespace="guest", **body).status_code == 401
    if method == "GET":  # its own namespace has no such artifact: a 404, or not listed
        own = other.request(method, path)
        assert own.status_code == 404 or "auth/m" not in [d["name"] for d in own.json()]
    assert guest.request("GET", "artifacts/auth/m@1/content").content == b"secret"


@pytest.mark.parametrize("method, path, params, fragment", [
    pytest.param("PUT", "artifacts/bad name", {"kind": "model"}, "not a valid artifact name",
                 id="a name with a space"),
    pytest.param("PUT", "artifacts/u1/resolve", {"kind": "model"}, "not a valid artifact name",
                 id="a reserved last segment"),
    pytest.param("PUT", "artifacts/x@3", {"kind": "model"}, "numbered by the registry",
                 id="a version chosen by the client"),
    pytest.param("PUT", "artifacts/x", {}, "kind: missing", id="no kind"),
    pytest.param("PUT", "artifacts/x", {"kind": "weights"}, "must be 'model' or 'data'",
                 id="an unknown kind"),
    pytest.param("PUT", "artifacts/x", {"kind": "model", "locality": "edge"},
                 "must be 'local', 'cloud' or 'network:NAME'", id="an unknown locality"),
    pytest.param("PUT", "artifacts/x", {"kind": "model", "metadata": "{nope"},
                 "metadata: not JSON", id="metadata that is not JSON"),
    pytest.param("PUT", "artifacts/x", {"kind": "model", "metrics": "[1]"},
                 "metrics: must be a JSON object", id="metrics that are not an object"),
    pytest.param("PUT", "artifacts/x", {"kind": "model", "sha256": "abc"},
                 "64 lowercase hex digits", id="a malformed digest"),
    pytest.param("PUT", "artifacts/x", {"kind": "model", "colour": "red"},
                 "query.colour: unknown field", id="an unknown parameter"),
    pytest.param("GET", "artifacts/x@zero", {}, "must be a positive integer",
                 id="a version that is not a number"),
    pytest.param("GET", "artifacts", {"limit": "-1"}, "limit", id="a negative limit"),
    pytest.param("DELETE", "artifacts/x", {}, "name the version", id="a delete without version"),
])
def test_malformed_requests_are_400_naming_what_is_wrong(guest: Client, method: str, path: str,
                                                         params: dict[str, str],
                                                         fragment: str) -> None:
    response = guest.request(method, path, params=params, data=b"x" if method == "PUT" else None)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]


@pytest.mark.parametrize("body, fragment", [
    pytest.param(b"{not json", "malformed", id="a body that is not JSON"),
    pytest.param(b'{"selector": {}}', "empty selector", id="an empty selector"),
    pytest.param(b'{"selector": {"order": "worst"}}', "'newest' or 'best:<metric>'",
                 id="an unknown order"),
    pytest.param(b'{"selecter": {}}', "unknown field", id="a misspelt field"),
    pytest.param(b"{}", "selector: missing", id="no selector"),
])
def test_a_malformed_resolve_request_is_400(guest: Client, body: bytes, fragment: str) -> None:
    response = guest.request("POST", "artifacts/resolve", data=body)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]


def test_the_controller_keeps_cloud_copies_in_s3_with_blobs_s3(
        s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    controller = Controller(tmp_path / "data", "--blobs", s3_server.url(bucket)).start()
    try:
        with controller.client() as client:
            doc = uploaded(client, "s3/model", b"in the bucket")
            assert client.request("GET", "artifacts/s3/model@1/content").content == b"in the bucket"
            assert s3_server.objects(bucket) == ["guest/s3/model@1"]
            assert put(client, "s3/model", b"bad", sha256=sha(b"good")).status_code == 400
            assert s3_server.objects(bucket) == ["guest/s3/model@1"]
            assert doc["copies"] == ["cloud"]
    finally:
        assert controller.stop() == 0
    assert not (tmp_path / "data" / "blobs").exists()
