"""The same API on the CouchDB store (pouchdb-server): CRUD, invoke, activations, restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import CouchDBServer
from .harness import Controller, create_action, create_namespace

CODE = "def main(args):\n    print('on couch')\n    return {'twice': 2 * args.get('x', 0)}\n"


@pytest.fixture
def couch_url(couchdb_server: CouchDBServer) -> Iterator[str]:
    prefix = f"api_{uuid.uuid4().hex[:8]}_"
    yield f"{couchdb_server.url}?prefix={prefix}"
    couchdb_server.drop_databases(prefix)


def test_crud_invoke_and_restart_on_couchdb(tmp_path: Path, couch_url: str) -> None:
    first = Controller(tmp_path / "data", "--db", couch_url).start()
    try:
        key = create_namespace(["--db", couch_url], "couch")
        with first.client(key) as client:
            created = create_action(client, "doubler", CODE)
            assert client.request("PUT", "actions/doubler", json={}).status_code == 409
            updated = client.request("PUT", "actions/doubler?overwrite=true",
                                     json={"limits": {"memory": 128}}).json()
            assert updated["version"] == "0.0.2" and updated["exec"] == created["exec"]
            assert [a["name"] for a in client.request("GET", "actions").json()] == ["doubler"]
            response = client.request("POST", "actions/doubler?blocking=true", json={"x": 21})
            assert response.status_code == 200, response.text
            record = response.json()
            assert record["response"]["result"] == {"twice": 42}
            activation_id = record["activationId"]
            assert client.request("GET", f"activations/{activation_id}").json() == record
            logs = client.request("GET", f"activations/{activation_id}/logs").json()["logs"]
            assert logs[0].endswith("stdout: on couch")
            assert [r["activationId"] for r in client.request("GET", "activations").json()] == [
                activation_id]
            client.request("PUT", "actions/gone", json={"exec": {"kind": "python:3", "code": CODE}})
            assert client.request("DELETE", "actions/gone").status_code == 200
            assert client.request("GET", "actions/gone").status_code == 404
    finally:
        assert first.stop() == 0
    # no --data state is used with --db: a fresh folder proves it all lives in CouchDB
    second = Controller(tmp_path / "elsewhere", "--db", couch_url).start()
    try:
        with second.client(key) as client:
            assert client.request("GET", "actions/doubler").json() == updated
            assert client.request("GET", f"activations/{activation_id}").json() == record
            again = client.request("POST", "actions/doubler?blocking=true&result=true",
                                   json={"x": 1})
            assert again.json() == {"twice": 2}
    finally:
        assert second.stop() == 0
