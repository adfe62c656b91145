"""One real controller per module with a short heartbeat timeout, and ``Lab``: an aiohttp session
for the devices, the guest namespace's API and the devices a test connects (closed at its end,
whatever happened). ``ca_file``: the CA the devices and the API trust (for a TLS controller).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from controller.api.harness import Controller, started

from .device import Api, Device

HEARTBEAT_TIMEOUT_S = 1.5
"""Short so that going offline takes a moment (the default is OpenWhisk's 10 s)."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tunnel") / "data"


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    yield from started(data_dir, "--heartbeat-timeout", str(HEARTBEAT_TIMEOUT_S))


class Lab:
    def __init__(self, http: aiohttp.ClientSession, controller: Controller,
                 ca_file: str | None = None) -> None:
        self.http = http
        self.controller = controller
        self.ssl: Any = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self.api = Api(controller.api_host, controller.auth, ca_file)
        self.devices: list[Device] = []

    def device(self, id: str, token: str, **options: Any) -> Device:
        device = Device(self.http, self.controller.api_host, token, id, ssl=self.ssl,
                        **options)
        self.devices.append(device)
        return device

    async def connected(self, id: str, *, register: bool = True, **options: Any) -> Device:
        """A new token for ``id`` and a device connected (and registered) with it."""
        token = await self.api.token(id)
        return await self.device(id, token, **options).connect(register=register)

    async def close(self) -> None:
        await asyncio.gather(*(d.close() for d in self.devices), return_exceptions=True)
        self.api.close()


Scenario = Callable[[Lab], Awaitable[None]]


def run(controller: Controller, scenario: Scenario, ca_file: str | None = None) -> None:
    """Run ``scenario`` in a fresh event loop; its devices are closed afterwards."""

    async def main() -> None:
        async with aiohttp.ClientSession() as http:
            lab = Lab(http, controller, ca_file)
            try:
                await scenario(lab)
            finally:
                await lab.close()

    asyncio.run(main())
