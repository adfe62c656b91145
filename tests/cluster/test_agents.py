"""Agents given several controller URLs: each registers with the first that takes it, and
when that controller is SIGKILLed it is back, through another, within 10 s."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from edgewhisk_devkit import Cluster

from .conftest import agent, holder

BACK_WITHIN_S = 10.0


def test_agents_reconnect_to_another_controller_after_a_sigkill(tmp_path: Path,
                                                                 db: str) -> None:
    with Cluster(tmp_path, 3, db=db) as cluster, cluster[0].client() as client:
        first = agent(cluster, client, "dev-a", [0, 1, 2], tmp_path)
        second = agent(cluster, client, "dev-b", [1, 2, 0], tmp_path)
        try:
            first.wait_registered()
            second.wait_registered()
            assert (holder(cluster, "dev-a"), holder(cluster, "dev-b")) == (0, 1)
            cluster.kill(0)
            killed = time.monotonic()
            first.wait_registered(2, timeout_s=BACK_WITHIN_S)
            back_s = time.monotonic() - killed
            assert back_s < BACK_WITHIN_S
            assert holder(cluster, "dev-a") in (1, 2)
            assert holder(cluster, "dev-b") == 1  # the other device never noticed
            assert "controller=ws://127.0.0.1:" in first.lines[-1]
            assert cluster[0].api_host.split("//")[1] not in first.lines[-1]
        finally:
            first.stop()
            second.stop()


@pytest.mark.parametrize("given, error", [
    ("ws://10.1.2.3:1", "ws:// (no TLS) is only allowed to a loopback address"),
    (",", "--controller ',' names no controller"),
])
def test_bad_controller_lists_are_refused(tmp_path: Path, given: str, error: str) -> None:
    import subprocess

    from edgewhisk_devkit import edgewhisk_command

    done = subprocess.run(edgewhisk_command("invoker", "--controller", "ws://127.0.0.1:1",
                                            "--controller", given, "--token", "x:y",
                                            "--no-battery"),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and error in done.stderr, done.stderr
