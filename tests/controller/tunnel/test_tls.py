"""``--tls-cert/--tls-key``: the controller serves HTTPS and the tunnel WSS; a device trusting
the test's own CA (generated per module) runs an activation; nobody else gets through."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from e2e.tls import Certificates, make_certificates
from edgewhisk_client import TlsError

from controller.api.harness import Controller, started

from .conftest import Lab, run
from .test_sessions import ECHO, _invoker


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("ca"), ["127.0.0.1"])


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory,
               certificates: Certificates) -> Iterator[Controller]:
    data = tmp_path_factory.mktemp("tls") / "data"
    yield from started(data, "--tls-cert", str(certificates.cert),
                       "--tls-key", str(certificates.key), "--heartbeat-timeout", "1.5")


def test_the_controller_serves_https_and_a_device_runs_over_wss(
        controller: Controller, certificates: Certificates) -> None:
    assert controller.api_host.startswith("https://127.0.0.1:")

    async def scenario(lab: Lab) -> None:
        device = await lab.connected("tls-a")
        await lab.api.action("tls-echo", ECHO, node="tls-a")
        invoked = await lab.api.invoke("tls-echo", {"secure": True})
        run_ = await device.next_run()
        await device.answer(run_)
        record = await lab.api.activation(invoked["activationId"])
        assert record["response"]["result"] == {"secure": True}
        assert _invoker(record) == "tls-a"

    run(controller, scenario, ca_file=str(certificates.ca))


def test_a_client_that_does_not_trust_the_ca_is_refused(controller: Controller) -> None:
    async def scenario(lab: Lab) -> None:
        with pytest.raises(TlsError):
            await lab.api.call("GET", "invokers/tokens")

    run(controller, scenario)


def test_plain_websocket_to_the_tls_port_gets_nowhere(controller: Controller,
                                                      certificates: Certificates) -> None:
    async def scenario(lab: Lab) -> None:
        token = await lab.api.token("tls-b")
        plain = controller.api_host.replace("https://", "ws://") + "/v1/invokers/tunnel"
        with pytest.raises(aiohttp.ClientError):
            await lab.http.ws_connect(plain, headers={"Authorization": f"Bearer {token}"})

    run(controller, scenario, ca_file=str(certificates.ca))
