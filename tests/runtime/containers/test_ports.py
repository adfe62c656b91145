"""No two proxies ever share a port (the second would be answered by the first's proxy and its
/init refused: "Cannot initialize the action more than once").

The docker backend holds each port it chooses until its container is destroyed (two cold starts
of one process). The process backend binds the proxy's socket itself and passes it down
(``--listen-fd``), so no other process -- not even another controller or agent on the machine --
can take the port between its choice and the proxy serving it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Callable, Iterator

import pytest
from edgewhisk_runtime.containers import ContainerStartError, ports
from edgewhisk_runtime.containers.interface import NODEJS, PYTHON
from edgewhisk_runtime.containers.process import ProcessBackend

from . import actions
from .support import Run, spec


def picker(answers: list[int]) -> Callable[[str], int]:
    """What the OS would answer, in order: a free port it may repeat before anyone binds it."""
    left: Iterator[int] = iter(answers)
    return lambda host: next(left)


def test_a_port_held_is_never_handed_out_again_until_released() -> None:
    pick = picker([40001, 40001, 40001, 40002, 40001])
    try:
        assert ports.hold("127.0.0.1", pick) == 40001
        assert ports.hold("127.0.0.1", pick) == 40002  # the OS said 40001 twice more
        ports.release(40001)
        assert ports.hold("127.0.0.1", pick) == 40001
    finally:
        ports.release(40001)
        ports.release(40002)
    assert not {40001, 40002} & ports.held()


def test_an_os_that_only_repeats_a_held_port_is_a_start_error() -> None:
    try:
        assert ports.hold("127.0.0.1", lambda host: 40003) == 40003
        with pytest.raises(ContainerStartError, match="no free port"):
            ports.hold("127.0.0.1", lambda host: 40003)
    finally:
        ports.release(40003)


def _bindable(port: int) -> bool:
    """Whether a server could listen on ``port`` now (as servers do, past TIME_WAIT)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.parametrize("kind", [PYTHON, NODEJS])
def test_containers_started_at_once_each_serve_a_port_nobody_else_can_take(
        run: Run, kind: str) -> None:
    action = spec(actions.ECHO if kind == PYTHON else actions.NODE_ECHO, kind=kind)
    backend = ProcessBackend()

    async def scenario() -> tuple[list[int], list[bool]]:
        containers = await asyncio.gather(*(backend.start(action) for _ in range(6)))
        try:
            for container in containers:  # each /init reaches its own proxy
                assert await container.init(action.init_payload()) == (200, {"ok": True})
            return [c.port for c in containers], [_bindable(c.port) for c in containers]
        finally:
            await asyncio.gather(*(c.destroy() for c in containers))

    started, taken_while_alive = run(scenario())
    assert len(set(started)) == 6
    assert not any(taken_while_alive)  # another process binding the port is refused
    assert all(_bindable(port) for port in started)  # and it is free again once destroyed


def test_a_dead_proxys_port_stays_ours_until_the_container_is_destroyed(run: Run) -> None:
    """A proxy that died must not have its port answered by another process's proxy while the
    pool still holds the container: the backend's copy of the socket keeps the port."""
    action = spec(actions.ECHO)

    async def scenario() -> tuple[bool, bool]:
        container = await ProcessBackend().start(action)
        try:
            os.kill(container.pid, signal.SIGKILL)
            while container.alive:
                await asyncio.sleep(0.01)
            return container.alive, _bindable(container.port)
        finally:
            await container.destroy()

    alive, bindable = run(scenario())
    assert (alive, bindable) == (False, False)
