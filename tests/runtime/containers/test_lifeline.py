"""A proxy started by the process backend never outlives its owner.

The owner here is a real child process that starts containers through ``ProcessBackend`` and
is then SIGKILLed, so it cannot destroy them: the proxies must stop by themselves (their stdin
lifeline reaches end of file) and take their actions with them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from edgewhisk_runtime.containers.interface import NODEJS, PYTHON

OWNER = textwrap.dedent("""
    import asyncio, sys
    from edgewhisk_runtime.containers import ProcessBackend
    from edgewhisk_runtime.containers.interface import ActionSpec

    async def main(kind):
        backend = ProcessBackend()
        spec = ActionSpec(key="k", kind=kind, code=None, binary=False, main="main", image=None,
                          env={}, memory_mb=128, timeout_ms=60000, concurrency=1)
        container = await backend.start(spec)
        print(container.pid, flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1]))
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its reaper is gone too
        return stat.read().split(") ", 1)[1][0] != "Z"


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


@pytest.mark.parametrize("kind", [PYTHON, NODEJS], ids=["a python proxy", "a node proxy"])
def test_a_proxy_stops_when_its_owner_is_killed(kind: str) -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, kind], stdout=subprocess.PIPE,
                             text=True)
    proxy = 0
    try:
        proxy = int(owner.stdout.readline())  # type: ignore[union-attr]
        assert _alive(proxy)
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        assert _wait_gone(proxy, 20), f"proxy {proxy} outlived its owner"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)
        if proxy and _alive(proxy):
            os.killpg(proxy, signal.SIGKILL)


def test_the_cli_proxy_stops_when_stdin_closes() -> None:
    proxy = subprocess.Popen([sys.executable, "-m", "edgewhisk_runtime", "serve", "--host",
                              "127.0.0.1", "--port", "0", "--lifeline-stdin"],
                             stdin=subprocess.PIPE)
    try:
        assert proxy.stdin is not None
        proxy.stdin.close()
        assert proxy.wait(20) == 0
    finally:
        if proxy.poll() is None:
            proxy.kill()
            proxy.wait(10)
