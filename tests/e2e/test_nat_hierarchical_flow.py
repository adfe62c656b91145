"""Pipeline 3 (``composer_flows/hierarchical.js``) across a NAT: the controller, its Redis and
the cloud node in the "cloud" namespace, u1's phone in "edge1" and u2's in "edge2", behind the
masquerading router that drops inbound connections; the controller serves ``https://`` and
``wss://`` with the tests' CA.

Everything the flow needs crosses the NAT outbound only: the devices dial the tunnel, and a
conductor run that lands on a device calls the API and Redis in the cloud (Composer's
``$composer.openwhisk.ignore_certs`` for the test CA, as Composer's README documents for
self-signed certificates). Checked: train_base on the cloud node, each user's collect, refine
and predict on that user's phone, each user's readings written only to that phone's store (the
access logs), the joined result, Redis empty afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_cli.action import python_action
from edgewhisk_cli.demo.artifacts import holders
from edgewhisk_client import Client
from edgewhisk_controller.config import ControllerConfig
from edgewhisk_devkit import Controller, Redis

from e2e import netns
from e2e.cluster import annotation, start_agent, start_controller
from e2e.tls import Certificates

pytestmark = pytest.mark.mxnet  # the personal-assistant actions run MXNet

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "actions" / "examples" / "personal_assistant"
NODE_MODULES = ROOT / ".services" / "node_modules"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

import glucose  # noqa: E402

USERS = ("u1", "u2")
ACTIONS = ("collect", "train_base", "refine", "predict")
LIMITS = {"timeout": 120_000, "memory": 256}


@dataclass
class Run:
    """The flow's record, the records of its steps and the registry, read in the cloud."""

    record: dict[str, Any]
    steps: list[dict[str, Any]]
    registry: list[dict[str, Any]]
    root: Path
    redis_keys: list[str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


def _composer(tool: str, *args: str, cwd: Path, prefix: tuple[str, ...] = ()) -> str:
    done = subprocess.run([*prefix, str(NODE_MODULES / ".bin" / tool), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _deploy(client: Client, controller: Controller, cloud: netns.Namespace, root: Path) -> None:
    """The four actions through the API, the flow with Composer's own tools (``deploy`` runs
    in the cloud namespace, ``-i`` for the test CA)."""
    for action in ACTIONS:
        document = python_action(action, EXAMPLES / f"{action}.py", [EXAMPLES / "glucose.py"],
                                 LIMITS)
        response = cloud.call(client.request, "PUT", f"actions/{action}?overwrite=true",
                              json=document)
        assert response.status_code == 200, response.text
    flow = root / "hierarchical.json"
    flow.write_text(_composer("compose", str(ROOT / "composer_flows" / "hierarchical.js"),
                              cwd=root))
    _composer("deploy", "hierarchical", flow.name, "-w", "-i", "--apihost",
              controller.api_host, "-u", controller.auth, cwd=root, prefix=cloud.prefix)


@pytest.fixture(scope="module")
def run(certificates: Certificates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("nat-flow")
    topology = netns.build(edges=2)
    try:
        cloud = topology.cloud
        redis = Redis(root / "redis", host=cloud.address, port=cloud.call(_free_port),
                      wrap=cloud.prefix)
        cloud.adopt(redis.stop)
        redis.start()
        controller = start_controller(
            cloud, root / "controller", "--invokers", "0", "--composer-redis", redis.uri,
            "--tls-cert", str(certificates.cert), "--tls-key", str(certificates.key))
        client = Client(controller.api_host, controller.auth, ca_file=str(certificates.ca),
                        timeout_s=300)
        url = f"wss://{cloud.address}:{controller.port}"
        common = ("--ca-file", str(certificates.ca), "--backend", "process", "--backoff-cap", "1",
                  "--no-battery")
        start_agent(cloud, url, cloud.call(client.tokens.create, "cloud-node")["token"],
                    "cloud-node", root / "cloud-node", "--role", "cloud", "--memory", "2048",
                    "--site", "cloud", "--store", str(root / "stores" / "cloud-node"), *common)
        for usr, edge in zip(USERS, topology.edges, strict=True):
            phone = f"{usr}-phone"
            start_agent(edge, url, cloud.call(client.tokens.create, phone)["token"], phone,
                        root / phone, "--owner", usr, "--network", f"{usr}_home", "--site",
                        f"{usr}_home", "--memory", "1024", "--store",
                        str(root / "stores" / phone), *common)
        _deploy(client, controller, cloud, root)
        readings = glucose.as_dicts(glucose.user_readings("u1", 20)["X"][-2:])
        params = {"users": list(USERS), "readings": readings, "collect": 300, "samples": 2000,
                  "epochs": 8, "$composer": {"openwhisk": {"ignore_certs": True}}}
        done = cloud.call(client.actions.invoke, "hierarchical", params, wait_s=300)
        assert done.success, (done.response, controller.log()[-3000:])
        steps = [cloud.call(client.activations.get, brief["activationId"])
                 for name in ACTIONS for brief in cloud.call(
                     client.activations.list, name=name, since=done.record["start"], limit=20)]
        registry = cloud.call(client.artifacts.list, limit=200)
        cloud.call(client.close)
        yield Run(done.record, steps, registry, root, redis.keys())
    finally:
        topology.close()


def test_each_step_ran_in_the_cloud_or_on_its_user_s_phone_behind_the_nat(run: Run) -> None:
    where = {(r["name"], r["response"]["result"].get("usr", "-")): annotation(r, "invoker")
             for r in run.steps}
    assert where == {("train_base", "-"): "cloud-node",
                     **{(a, u): f"{u}-phone" for u in USERS
                        for a in ("collect", "refine", "predict")}}
    result = run.record["response"]["result"]
    assert [u["usr"] for u in result["users"]] == list(USERS)
    assert all(u["refined"]["model"]["status"] == "ok" for u in result["users"])


def test_each_user_s_readings_stayed_on_that_user_s_phone(run: Run) -> None:
    logs = {"blob-store": ControllerConfig(data=run.root / "controller").blobs_log,
            **{n: run.root / "stores" / n / "access.log"
               for n in ("cloud-node", *(f"{u}-phone" for u in USERS))}}
    written = holders(logs)
    for usr in USERS:
        for name in (f"{usr}/glucose", f"{usr}/glucose-model"):
            (doc,) = [d for d in run.registry if d["name"] == name]
            assert written[doc["sha256"]] == {f"{usr}-phone"}, (name, written[doc["sha256"]])


def test_the_map_left_nothing_in_redis(run: Run) -> None:
    assert run.redis_keys == []
