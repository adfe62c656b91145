"""The docker backend's container settings, read back from podman, and what an action can do.

The running container is inspected through the Docker SDK (read-only root, tmpfs /tmp, no
capabilities, no-new-privileges, a pids limit, memory and CPU from the action's limits, the
bridge network, only its own exchange folders mounted); then an action tries to write ``/``
and to read a host folder standing for the controller's ``--data``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest
from edgewhisk_runtime.containers.docker import PIDS_LIMIT, DockerBackend
from edgewhisk_runtime.environment import is_allowed

from .support import Run, fields, spec
from .test_pool import MakePool
from .test_sandbox import PROBE

pytestmark = pytest.mark.container


def test_a_container_is_locked_down_and_sees_only_its_own_folders(
        run: Run, make_pool: MakePool, docker_backend: DockerBackend,
        docker_client: docker.DockerClient, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the invoker's secret")
    data = tmp_path / "data"
    data.mkdir()
    (data / "store.sqlite3").write_text("every namespace's records")
    pool = make_pool(docker_backend)
    outcome = run(pool.run(spec(PROBE, memory_mb=192),
                           {"read": [str(data), "/tmp"],
                            "write": ["/created-at-root", "/tmp/scratch"]}, fields("a1")))
    assert outcome.status == 200, outcome
    seen: dict[str, Any] = outcome.response
    assert seen["read"][str(data)] == {"error": "FileNotFoundError"}
    assert seen["write"] == {"/created-at-root": {"error": "OSError"},
                             "/tmp/scratch": {"ok": True}}
    assert "AWS_SECRET_ACCESS_KEY" not in seen["env"]
    assert [key for key in seen["env"] if not is_allowed(key)] == []

    container = docker_client.containers.get(outcome.container_id.removeprefix("docker-"))
    host = container.attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert "/tmp" in (host.get("Tmpfs") or {})
    assert "no-new-privileges" in " ".join(host.get("SecurityOpt") or [])
    assert host["PidsLimit"] == PIDS_LIMIT
    assert host["Memory"] == 192 * 1024 * 1024 and host["CpuShares"] == 192 * 4
    assert host["NetworkMode"] != "host"
    caps = container.exec_run(["grep", "^CapEff:", "/proc/1/status"]).output.decode()
    assert caps.split() == ["CapEff:", "0000000000000000"]  # the proxy, and so its action
    mounts = {(m["Destination"], m["RW"]) for m in container.attrs["Mounts"]
              if m.get("Type") == "bind"}
    folder = Path(next(iter(mounts))[0]).parent
    assert mounts == {(str(folder / "in"), False), (str(folder / "out"), True)}
    assert folder.name.startswith("edgewhisk-container-")
    run(pool.close())
    assert not folder.exists()
