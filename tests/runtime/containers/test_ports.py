"""Proxy ports are held from their choice until their container is destroyed, so two cold
starts of one process never share one (the second would be answered by the first's proxy and
its /init refused: "Cannot initialize the action more than once")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from edgewhisk_runtime.containers import ContainerStartError, ports
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


def test_containers_started_at_once_each_hold_their_own_port_until_destroyed(run: Run) -> None:
    action = spec(actions.ECHO)
    backend = ProcessBackend()

    async def scenario() -> tuple[list[int], frozenset[int]]:
        containers = await asyncio.gather(*(backend.start(action) for _ in range(6)))
        try:
            for container in containers:  # each /init reaches its own proxy
                assert await container.init(action.init_payload()) == (200, {"ok": True})
            return [c.port for c in containers], ports.held()
        finally:
            await asyncio.gather(*(c.destroy() for c in containers))

    started, held = run(scenario())
    assert len(set(started)) == 6 and set(started) <= held
    assert not set(started) & ports.held()
