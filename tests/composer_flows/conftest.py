"""What the Composer flow tests share: a Redis for ``parallel``/``map`` (devkit's, on a free
port, stopped by pid); compiling and deploying a composition with Composer's own tools; the
pipeline steps (``actions/examples/pipelines``) deployed as a user deploys them; and a
composition's steps read back from its record, each with the invoker it ran on.

``pipelines`` is the fleet of pipelines 1 and 2: an edge-only controller (``--invokers 0``,
``--composer-redis``) with a cloud node and one edge device, each an ``edgewhisk invoker`` on
the tunnel with its own node store, started and stopped by ``edgewhisk_devkit``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Client, Controller, composer
from edgewhisk_cli.action import python_action
from edgewhisk_cli.demo.flow_steps import flow_steps
from edgewhisk_cli.demo.timeline import draw
from edgewhisk_devkit import AgentSpec, Fleet, Redis

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "composer_flows"
PIPELINES = ROOT / "actions" / "examples" / "pipelines"
STEPS = ("prepare", "features", "train", "validate", "serve")
KEYED = ({"key": "provide-api-key", "value": True},)  # push calls the platform's API
PNG = b"\x89PNG\r\n\x1a\n"
LIMITS = {"timeout": 60_000, "memory": 256}
CLOUD, EDGE = "cloud-node", "edge-1"
NODES = [  # the cloud node first (placement ties go to the earliest registered)
    AgentSpec(CLOUD, ("--role", "cloud", "--memory", "2048", "--site", "cloud")),
    AgentSpec(EDGE, ("--role", "edge", "--memory", "1024", "--no-battery")),
]


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    with Redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def pipelines(redis: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    """The fleet of pipelines 1 and 2 with every pipeline step deployed."""
    root = tmp_path_factory.mktemp("pipelines")
    with Controller(root / "data", "--invokers", "0", "--composer-redis", redis.uri) as ctl, \
            ctl.client() as client, Fleet(client, NODES, root, stores=root / "stores"):
        deploy_steps(client, STEPS)
        deploy_push(client, "push", KEYED)
        yield ctl


def deploy(controller: Controller, name: str, flow: Path, folder: Path) -> None:
    """``compose FLOW > NAME.json`` and ``deploy NAME NAME.json -w``, as a user runs them."""
    (folder / f"{name}.json").write_text(composer("compose", str(flow), cwd=folder))
    composer("deploy", name, f"{name}.json", "-w", "--apihost", controller.api_host,
             "-u", controller.auth, cwd=folder)


def deploy_steps(client: Client, names: tuple[str, ...]) -> None:
    """Each step as a python:3 zip of its file and ``tabular.py``, annotation kept."""
    for name in names:
        document = python_action(name, PIPELINES / f"{name}.py", [PIPELINES / "tabular.py"],
                                 LIMITS)
        response = client.request("PUT", f"actions/{name}?overwrite=true", json=document)
        assert response.status_code == 200, response.text


def deploy_push(client: Client, name: str, annotations: tuple[dict[str, Any], ...]) -> None:
    """The pipelines' ``push`` as ``name``, with ``annotations`` (``KEYED``: the API key)."""
    document = python_action(name, PIPELINES / "push.py", [], LIMITS)
    document["annotations"].extend(annotations)
    response = client.request("PUT", f"actions/{name}?overwrite=true", json=document)
    assert response.status_code == 200, response.text


@dataclass(frozen=True)
class Step:
    """One component activation of a composition: its action, where it ran, its record."""

    name: str
    invoker: str | None
    record: dict[str, Any]

    @property
    def result(self) -> Any:
        return self.record["response"]["result"]


def note(record: dict[str, Any], key: str) -> Any:
    """The value of an activation record's annotation ``key`` (None without it)."""
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


def steps(client: Client, record: dict[str, Any]) -> list[Step]:
    """The components a composition ran, in order (its conductor runs left out), each checked
    to have been caused by it."""
    found = []
    for activation_id in record["logs"]:
        rec = client.request("GET", f"activations/{activation_id}").json()
        assert rec["cause"] == record["activationId"], rec
        if rec["name"] != record["name"]:
            found.append(Step(rec["name"], note(rec, "invoker"), rec))
    return found


def records_since(client: Client, name: str, since_ms: int) -> list[dict[str, Any]]:
    """The full records of the activations of ``name`` since ``since_ms`` (a map's branches
    are compositions of their own, which the flow's record does not list)."""
    return [client.activations.get(brief["activationId"])
            for brief in client.activations.list(name=name, since=since_ms, limit=200)]


@pytest.fixture(scope="session")
def timelines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' artifacts folder for the pipelines' timeline PNGs (under pytest's base
    temporary folder, which pytest keeps for the last three sessions)."""
    return tmp_path_factory.getbasetemp() / "timelines"


def timeline(client: Client, record: dict[str, Any], actions: tuple[str, ...], folder: Path,
             name: str) -> Path:
    """The run's timeline (the demo's drawing: a lane per invoker, a bar per step, arrows for
    artifacts that crossed a tunnel) drawn into ``folder/NAME.png``; checked to be a PNG."""
    steps_run = flow_steps(client, record["start"], client.artifacts.list(limit=200), actions)
    path = draw(steps_run, record["start"], folder / f"{name}.png", name)
    assert path.read_bytes()[:8] == PNG
    return path


def copies_once_reported(client: Client, ref: str, invokers: Iterable[str]) -> list[str]:
    """The version's copies once every one of ``invokers`` is among them, or after 30 s: the
    registry learns of a device's copy from what the device reports of its store, after a
    preload's answer."""
    deadline = time.monotonic() + 30
    while True:
        copies = list(client.artifacts.get(ref)["copies"])
        if set(invokers) <= set(copies) or time.monotonic() > deadline:
            return copies
        time.sleep(0.2)
