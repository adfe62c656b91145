"""A field device behind a NAT keeps working with its uplink cut (issue 14's proof).

The controller runs in the cloud namespace, the agent of ``edge1`` in its namespace behind the
router, with ``--offline-dir`` and its local invoke API on a unix socket (an app on the tablet).
The uplink is cut at the router (packets silently dropped); 20 classifications through the local
API succeed on the device; an upload that needs the corporate network waits there, also across
an agent SIGKILL while still cut off; on restore all 20 records are in ``GET .../activations``
within 10 s, each once, with the device's id and ``offline: true``; the upload runs only once
the device joins ``corp`` (its networks file), and its record says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_client import LocalClient

from e2e import netns
from e2e.cluster import Api, annotation, poll, start_agent, start_controller
from e2e.tls import Certificates

DEVICE = "edge1"
CLASSIFY = '''from edgewhisk import policy


@policy.offline(node=["edge1"])
def main(args):
    return {"state": "worn" if sum(args.get("pixels", [])) > 10 else "ok"}
'''
UPLOAD = '''from edgewhisk import policy


@policy.offline(node=["edge1"])
@policy.data(network=["corp"], strict=True)
def main(args):
    return {"uploaded": len(args.get("photos", []))}
'''
CLASSIFICATIONS = 20
SYNC_WITHIN_S = 10.0


@pytest.fixture
def field(certificates: Certificates, tmp_path: Path) -> Iterator[dict[str, Any]]:
    topology = netns.build(edges=1)
    try:
        controller = start_controller(
            topology.cloud, tmp_path / "controller", "--tls-cert", str(certificates.cert),
            "--tls-key", str(certificates.key), "--heartbeat-timeout", "30")
        api = Api(topology.cloud, controller.api_host, controller.auth, str(certificates.ca))
        for name, code in (("classify", CLASSIFY), ("upload", UPLOAD)):
            source = tmp_path / f"{name}.py"
            source.write_text(code)
            api.deploy(name, source)
        url = f"wss://{topology.cloud.address}:{controller.api_host.rsplit(':', 1)[1]}"
        token = api.token(DEVICE)
        workdir = tmp_path / DEVICE
        networks = tmp_path / "networks"
        networks.write_text("4g\n")
        flags = ("--ca-file", str(certificates.ca), "--backoff-cap", "1", "--no-battery",
                 "--offline-dir", str(workdir / "offline"), "--local-api",
                 str(tmp_path / "local.sock"), "--api-key", controller.auth,
                 "--networks-file", str(networks), "--context-interval", "0.2")

        def agent() -> Any:
            return start_agent(topology.edges[0], url, token, DEVICE, workdir, *flags)

        try:
            yield {"topology": topology, "api": api, "agent": agent, "networks": networks,
                   "offline": workdir / "offline", "socket": tmp_path / "local.sock",
                   "controller": controller}
        finally:
            api.close()
    finally:
        topology.close()


def test_a_device_cut_off_classifies_syncs_once_and_uploads_only_on_corp(
        field: dict[str, Any]) -> None:
    topology, api = field["topology"], field["api"]
    agent = field["agent"]()
    agent.wait_registered()
    agent.wait_log("keeping guest/classify@0.0.1 for offline use")
    agent.wait_log("keeping guest/upload@0.0.1 for offline use")
    key = (field["offline"] / "local.key").read_text().strip()
    tablet = LocalClient(key, socket_path=str(field["socket"]))

    topology.cut(topology.edges[0])
    agent.wait_log("tunnel to", timeout_s=60)           # the agent noticed the dead uplink
    ids = []
    for n in range(CLASSIFICATIONS):
        answer = tablet.invoke("classify", {"pixels": [n % 3] * 8})
        assert answer.status == 200, answer.body
        assert annotation(answer.body, "offline") is True
        ids.append(answer.activation_id)
    upload = tablet.invoke("upload", {"photos": ["p1", "p2"]})
    assert upload.status == 202, upload.body

    agent.stop()                                        # an agent restarted while cut off
    agent = field["agent"]()
    agent.wait_log("local API")
    time.sleep(1.0)
    assert "ran on joining" not in agent.log()

    restored = time.monotonic()
    topology.restore(topology.edges[0])

    def synced() -> list[str] | None:
        listed = api.namespace.call(api.client.json, "GET", "activations",
                                    params={"name": "classify", "limit": 200})
        found = sorted(r["activationId"] for r in listed if r["activationId"] in ids)
        return found if len(found) >= CLASSIFICATIONS else None

    found = poll(synced, 60)
    took = time.monotonic() - restored
    assert found == sorted(ids), "every record once"
    assert took <= SYNC_WITHIN_S, f"synced {took:.1f} s after the restore"
    print(f"20 offline records synced {took:.2f} s after the uplink came back")
    for aid in ids[:3]:
        record = api.wait_record(aid)
        assert annotation(record, "invoker") == DEVICE
        assert annotation(record, "offline") is True
    assert api.record(upload.activation_id) is None     # not on corp yet: it has not run

    joined_ms = int(time.time() * 1000)
    field["networks"].write_text("4g\ncorp\n")
    record = api.wait_record(upload.activation_id, 60)
    assert record["start"] >= joined_ms and record["response"]["result"] == {"uploaded": 2}
