"""Stopping the controller closes every tunnel with GOING_AWAY at once (a connected device does
not hold up the shutdown) and the controller exits cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edgewhisk_tunnel import CloseCode

from controller.api.harness import Controller

from .conftest import Lab, run
from .test_sessions import ECHO


def test_a_stopping_controller_says_going_away_to_its_devices(tmp_path: Path) -> None:
    controller = Controller(tmp_path / "data").start()
    try:
        async def scenario(lab: Lab) -> None:
            device = await lab.connected("sd-a")
            await lab.api.action("sd-echo", ECHO, node="sd-a")
            await lab.api.invoke("sd-echo", {})
            await device.next_run()  # in flight when the controller stops
            exit_code = await asyncio.to_thread(controller.stop)
            code, reason = await device.closed()
            assert code == CloseCode.GOING_AWAY and "shutting down" in reason
            assert exit_code == 0

        run(controller, scenario)
    finally:
        controller.stop()
    assert "is lost: the controller is shutting down" in controller.log()
