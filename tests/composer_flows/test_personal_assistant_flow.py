"""``composer_flows/personal_assistant.js`` ("refine and serve" for one user) against a real
controller: compiled by Composer's own ``compose``, deployed by its own ``deploy``, invoked
blocking; the conductor chains refine then predict for the same user on that user's device.

The fleet is the demo's for one user (``NODES``, as ``edgewhisk_cli.demo.fleet`` describes it,
started by ``edgewhisk_devkit``): an edge-only controller (``--invokers 0``), a cloud node and
``u1``'s device, each an ``edgewhisk invoker`` process on the tunnel with its own node store.
``collect`` makes u1's readings on u1's device (``u1/glucose``, local) and
``train_base`` the base model on the cloud node (``glucose-base``, in the blob store); nothing
stands in for the registry: refine's model selector is resolved by it, and u1's device fetches
the base through the tunnel.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Client, Controller, composer
from edgewhisk import ArtifactHandle
from edgewhisk_cli.action import python_action
from edgewhisk_devkit import AgentSpec, Fleet
from edgewhisk_runtime.artifacts.canonical import materialize
from edgewhisk_runtime.artifacts.store import NodeStore

ROOT = Path(__file__).resolve().parents[2]
FLOW = ROOT / "composer_flows" / "personal_assistant.js"
EXAMPLES = ROOT / "actions" / "examples" / "personal_assistant"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

import glucose  # noqa: E402

READINGS = 300
SCORED = 4  # held-out readings of u1 the flow asks predict to score
ACTIONS = ("collect", "train_base", "refine", "predict")
LIMITS = {"timeout": 120_000, "memory": 256}
NODES = [  # the cloud node first (placement ties go to the earliest registered), u1's device
    AgentSpec("cloud-node", ("--role", "cloud", "--memory", "2048", "--site", "cloud",
                             "--store-cap", "2GB")),
    AgentSpec("u1-phone", ("--owner", "u1", "--network", "u1_home", "--site", "u1_home",
                           "--memory", "1024", "--no-battery", "--store-cap", "512MB")),
]


def _invoke(client: Client, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """A blocking invoke's record (polled if it outlived the blocking wait)."""
    done = client.actions.invoke(name, params, wait_s=300)
    assert done.status == 200, done.record
    return done.record


def _annotation(record: dict[str, Any], key: str) -> Any:
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


def _model(store: NodeStore, key: str, tmp: Path) -> Any:
    """A model as the device store holds it (its canonical blob, unpacked into ``tmp``)."""
    entry, blob = store.open_blob(key)
    folder = materialize(blob, entry.format, tmp / key.replace("/", "_"))
    return ArtifactHandle("model", key, None, lambda: folder, format=entry.format).load()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Controller, Path]]:
    """An edge-only controller with the demo's cloud node and u1's device (its store under
    ``stores/u1-phone``); stopped by pid. Yields the controller and the stores' folder."""
    root = tmp_path_factory.mktemp("flow")
    with Controller(root / "data", "--invokers", "0").start() as controller, \
            controller.client() as client, Fleet(client, NODES, root, stores=root / "stores"):
        yield controller, root / "stores"


@pytest.mark.mxnet  # the personal-assistant actions run MXNet
def test_refine_and_serve_chains_refine_then_predict_for_one_user(
    fleet: tuple[Controller, Path], tmp_path: Path
) -> None:
    controller, stores = fleet
    include = [EXAMPLES / "glucose.py"]
    with controller.client() as client:
        for action in ACTIONS:
            document = python_action(action, EXAMPLES / f"{action}.py", include, LIMITS)
            response = client.request("PUT", f"actions/{action}?overwrite=true", json=document)
            assert response.status_code == 200, response.text
        collected = _invoke(client, "collect", {"usr": "u1", "readings": READINGS})
        assert collected["response"]["success"], collected["response"]
        trained = _invoke(client, "train_base", {"samples": 2000, "epochs": 8})
        assert trained["response"]["success"], trained["response"]

        (tmp_path / "assistant.json").write_text(composer("compose", str(FLOW), cwd=tmp_path))
        composer("deploy", "assistant", "assistant.json", "-w", "--apihost",
                  controller.api_host, "-u", controller.auth, cwd=tmp_path)
        held_out = glucose.split(glucose.user_readings("u1", READINGS))[1]
        readings = glucose.as_dicts(held_out["X"][-SCORED:])
        record = _invoke(client, "assistant", {"usr": "u1", "readings": readings})
        assert record["response"]["success"], record["response"]

        components = [client.request("GET", f"activations/{i}").json() for i in record["logs"]]
        registered = client.request("GET", "artifacts/u1/glucose-model@1").json()
    steps = [c for c in components if c["name"] != "assistant"]
    assert [c["name"] for c in steps] == ["refine", "predict"]
    assert all(c["cause"] == record["activationId"] for c in components)
    # each step placed by its own policy (fn node {usr}_device, strict): on u1's device
    assert [_annotation(c, "invoker") for c in steps] == ["u1-phone", "u1-phone"]
    refined, predicted = (c["response"]["result"] for c in steps)
    assert refined["usr"] == predicted["usr"] == "u1"

    result = record["response"]["result"]
    assert result["usr"] == "u1"
    model = result["refined"]["model"]["artifact"]
    assert (model["ref"], model["key"], model["locality"]) == (
        "u1/glucose-model", "guest/u1/glucose-model@1", "local")
    # the registry resolved refine's selector to the trained base; the model stays on u1's device
    assert registered["lineage"] == {"model": "guest/glucose-base@1",
                                     "data": ["guest/u1/glucose@1"]}
    assert registered["copies"] == ["u1-phone"]
    # predict served u1's refined model: its probabilities are that model's, not the base's
    store = NodeStore(stores / "u1-phone", capacity_bytes=1 << 30, by="test",
                      log=tmp_path / "reads.log")  # the test's reads stay out of its log
    x = glucose.readings_matrix(readings)
    served = [p["probability"] for p in predicted["predictions"]]
    expected = [round(float(p), 4) for p in glucose.predict_proba(
        _model(store, model["key"], tmp_path), x)]
    base = [round(float(p), 4) for p in glucose.predict_proba(
        _model(store, "guest/glucose-base@1", tmp_path), x)]
    assert served == pytest.approx(expected, abs=1e-4)
    assert served != pytest.approx(base, abs=1e-3)
