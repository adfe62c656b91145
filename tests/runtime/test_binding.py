"""The SDK-binding stage end to end: a decorated action gets its inputs and its outputs stored.

A real proxy (``--artifacts DIR``, the filesystem resolver and sink) runs actions decorated
with ``edgewhisk`` decorators: consumed artifacts arrive as ``ArtifactHandle`` keyword
arguments, produced values are saved, stored at ``DIR/<bound ref>`` and replaced in the result
by a reference, and a later action consumes what an earlier one produced, in its format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import client
from .actions import src
from .targets import ProcessTarget

PRODUCER = src("""
    from edgewhisk import consumes, produces

    @consumes.data("{usr}/glucose", name="readings")
    @consumes.model(name="base", selector={"type": "classifier"})
    @produces.data("{usr}/summary")
    def main(args, readings, base):
        values = [int(v) for v in readings.load().decode().split()]
        return {"handle": type(readings).__name__, "ref": readings.ref,
                "base": base.path.read_text(), "count": len(values),
                "summary": {"user": args["usr"], "total": sum(values)}}
""")

CONSUMER = src("""
    from edgewhisk import consumes

    @consumes.data("{usr}/summary", name="summary")
    def main(args, summary):
        return {"format": summary.format, "loaded": summary.load()}
""")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    (tmp_path / "u1").mkdir()
    (tmp_path / "u1" / "glucose").write_text("5 7 9")
    (tmp_path / "base").write_text("a model")
    return tmp_path


@pytest.fixture
def proxy(store: Path) -> Iterator[ProcessTarget]:
    target = ProcessTarget(artifacts=store)
    yield target
    target.stop()


def test_consumed_files_are_injected_and_produced_values_stored(store: Path,
                                                                 proxy: ProcessTarget) -> None:
    assert client.init(proxy.url, {"code": PRODUCER}) == (200, {"ok": True})
    status, body = client.run(proxy.url, {"usr": "u1"})
    assert status == 200, body
    assert body["handle"] == "ArtifactHandle"
    assert (body["ref"], body["base"], body["count"]) == ("u1/glucose", "a model", 3)
    stored = store / "u1" / "summary"
    reference: dict[str, Any] = body["summary"]["artifact"]
    content = stored.read_bytes()
    assert json.loads(content) == {"user": "u1", "total": 21}
    assert reference == {"kind": "data", "name": "summary", "ref": "u1/summary",
                         "format": "json", "size": len(content),
                         "sha256": hashlib.sha256(content).hexdigest(),
                         "location": stored.as_uri()}


def test_a_later_action_consumes_the_produced_artifact_in_its_format(store: Path) -> None:
    producer, consumer = ProcessTarget(artifacts=store), ProcessTarget(artifacts=store)
    try:
        client.init(producer.url, {"code": PRODUCER})
        assert client.run(producer.url, {"usr": "u1"})[0] == 200
        client.init(consumer.url, {"code": CONSUMER})
        status, body = client.run(consumer.url, {"usr": "u1"})
        assert (status, body) == (200, {"format": "json",
                                        "loaded": {"user": "u1", "total": 21}})
    finally:
        producer.stop()
        consumer.stop()


ERROR_ROWS = [
    ("a missing consumed artifact is an error naming it", {"usr": "nobody"},
     ["artifact 'readings'", "nobody/glucose", "not found"]),
    ("an unbound variable is an error naming it", {}, ["artifact 'readings'", "usr"]),
]


@pytest.mark.parametrize("args, words", [r[1:] for r in ERROR_ROWS],
                         ids=[r[0] for r in ERROR_ROWS])
def test_binding_errors_are_clear_and_the_action_keeps_working(
        args: dict[str, Any], words: list[str], proxy: ProcessTarget) -> None:
    client.init(proxy.url, {"code": PRODUCER})
    status, body = client.run(proxy.url, args)
    assert status == 502
    assert all(w in body["error"] for w in words), body
    assert client.run(proxy.url, {"usr": "u1"})[0] == 200


def test_an_undecorated_action_passes_through_unchanged(proxy: ProcessTarget) -> None:
    client.init(proxy.url, {"code": "def main(args):\n    return {'summary': args}\n"})
    assert client.run(proxy.url, {"usr": "u1"}) == (200, {"summary": {"usr": "u1"}})


def _staged(consumes: dict[str, Any], produce_root: Path | None) -> str:
    return json.dumps({"consumes": consumes,
                       "produce_root": None if produce_root is None else str(produce_root)})


def test_an_invokers_staged_paths_replace_the_resolver_and_sink(tmp_path: Path) -> None:
    empty, node = tmp_path / "artifacts", tmp_path / "node-store"
    empty.mkdir()
    (node / "blobs").mkdir(parents=True)
    (node / "blobs" / "readings").write_text("1 2 3 4")
    (node / "blobs" / "base").write_text("staged model")
    target = ProcessTarget(artifacts=empty)
    try:
        client.init(target.url, {"code": PRODUCER})
        staged = _staged({"readings": {"path": str(node / "blobs" / "readings"), "format": "raw"},
                          "base": {"path": str(node / "blobs" / "base"), "format": None}},
                         node / "produced" / "a1")
        status, body = client.run(target.url, {"usr": "u1"}, edgewhisk=staged)
        assert status == 200, body
        assert (body["count"], body["base"]) == (4, "staged model")
        stored = node / "produced" / "a1" / "u1" / "summary"
        assert body["summary"]["artifact"]["location"] == stored.as_uri()
        assert json.loads(stored.read_text()) == {"user": "u1", "total": 10}
        assert list(empty.iterdir()) == []  # neither the resolver nor the sink was used
    finally:
        target.stop()


@pytest.mark.parametrize("field, status, words", [
    ("not json", 400, ["'edgewhisk' must be a JSON string"]),
    (json.dumps({"consumes": {"readings": "/x"}}), 400, ["'edgewhisk'", "consumes"]),
    (json.dumps({"consumes": {}, "produce_root": None}), 502,
     ["artifact 'readings'", "was not staged by the invoker"]),
    (json.dumps({"consumes": {"readings": {"path": "/nonexistent/r"},
                              "base": {"path": "/nonexistent/b"}}}), 502,
     ["the staged path /nonexistent/r is missing"]),
], ids=["a field that is not JSON is a bad request",
        "a consume without a path is a bad request",
        "a consume the invoker did not stage is named",
        "a staged path that vanished is named"])
def test_a_bad_staged_field_is_refused_clearly(field: str, status: int, words: list[str],
                                               proxy: ProcessTarget) -> None:
    client.init(proxy.url, {"code": PRODUCER})
    got, body = client.run(proxy.url, {"usr": "u1"}, edgewhisk=field)
    assert got == status, body
    assert all(w in body["error"] for w in words), body
    assert client.run(proxy.url, {"usr": "u1"})[0] == 200
