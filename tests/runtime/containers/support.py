"""Helpers of the container-pool tests: action specs, activation fields, pid checks."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgewhisk_devkit import descendants
from edgewhisk_runtime.containers import ActionSpec, RunOutcome

Run = Callable[[Awaitable[Any]], Any]
TEST_LABEL = "org.edgewhisk.test-pool"


def spec(code: str | None, key: str = "guest/a@0.0.1", **overrides: Any) -> ActionSpec:
    fields: dict[str, Any] = dict(key=key, kind="python:3", code=code, binary=False,
                                  main="main", image=None,
                                  env={"__OW_API_HOST": "http://127.0.0.1:3233"},
                                  memory_mb=256, timeout_ms=30_000, concurrency=1)
    fields.update(overrides)
    return ActionSpec(**fields)


def stopped(pid: int, wait_s: float = 5.0) -> bool:
    """Whether ``pid`` is gone within ``wait_s``: a process group killed together dies process
    by process as the kernel delivers each SIGKILL, so under load the action process can
    outlive its proxy by a scheduler tick (a real leak outlives the wait)."""
    deadline = time.monotonic() + wait_s
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def host_pids(outcome: RunOutcome) -> list[int]:
    """A process container's proxy and everything under it, as host pids, while it runs.

    Why not the pids an action reports: in a sandbox they are its own pid namespace's."""
    pid = int(outcome.container_id.removeprefix("process-"))
    return [pid, *descendants(pid)]


def all_stopped(pids: list[int]) -> bool:
    return all(stopped(pid) for pid in pids)


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def fields(activation_id: str, **more: str) -> dict[str, str]:
    return {"activation_id": activation_id, "transaction_id": "tid", "namespace": "guest",
            "action_name": "a", "action_version": "0.0.1", **more}


def proxy_children() -> list[int]:
    """This test process's children that are action proxies (ProcessBackend containers)."""
    me = os.getpid()
    try:
        pids = [int(p) for p in Path(f"/proc/{me}/task/{me}/children").read_text().split()]
    except OSError:
        return []
    found = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"edgewhisk_runtime" in cmdline and running(pid):
            found.append(pid)
    return found
