"""Tenant code against a real controller process: what its actions can see, and its start-up.

The controller runs with a secret in its environment, its ``--data`` and its working folder
where an action could name them; an action of a namespace reports what it finds. Without
bubblewrap on its PATH the controller warns at start and serves one namespace, naming why in
the record of the refused activation. Work folders of dead owners are swept at start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_runtime import workdirs
from edgewhisk_runtime.environment import is_allowed

from .api.harness import Controller, create_action, create_namespace

SECRET = "AWS_SECRET_ACCESS_KEY"
PROBE = """
import os
from pathlib import Path

def main(args):
    tried = {}
    for path in args["read"]:
        try:
            tried[path] = sorted(os.listdir(path))
        except OSError as exc:
            tried[path] = type(exc).__name__
    try:
        Path(args["write"]).write_text("")
        wrote = True
    except OSError:
        wrote = False
    return {"env": dict(os.environ), "read": tried, "wrote": wrote}
"""


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    with Controller(tmp_path / "data", cwd=cwd, env={SECRET: "the S3 secret"}).start() as c:
        yield c


def invoke(controller: Controller, name: str, params: dict[str, Any],
           auth: str | None = None) -> dict[str, Any]:
    with controller.client(auth) as api:
        create_action(api, name, PROBE)
        answer = api.request("POST", f"actions/{name}?blocking=true", json=params)
        record = api.activations.wait(answer.json()["activationId"])
    assert isinstance(record, dict)
    return record


def test_an_action_sees_neither_the_controllers_environment_nor_its_files(
        controller: Controller, tmp_path: Path) -> None:
    data, cwd = tmp_path / "data", tmp_path / "cwd"
    record = invoke(controller, "probe", {"read": [str(data), str(cwd)],
                                          "write": str(cwd / "oom")})
    seen = record["response"]["result"]
    assert SECRET not in seen["env"]
    assert [key for key in seen["env"] if not is_allowed(key)] == []
    # Of --data only the mount points of its own folders exist in the sandbox (its work
    # folder, its namespace's artifacts folder): not the store, the blobs, the node store.
    assert {"node-store", "store.sqlite3"} <= {path.name for path in data.iterdir()}
    assert set(seen["read"][str(data)]) <= {"work", "artifacts"}
    assert seen["read"][str(cwd)] == "FileNotFoundError"
    assert seen["wrote"] is False and list(cwd.iterdir()) == []  # nothing in its cwd


def test_without_bubblewrap_the_controller_serves_one_namespace_and_says_why(
        tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # what the controller needs on PATH, bubblewrap left out
    bin_dir.mkdir()
    prlimit = shutil.which("prlimit")
    assert prlimit is not None
    (bin_dir / "prlimit").symlink_to(prlimit)
    data = tmp_path / "data"
    with Controller(data, env={"PATH": str(bin_dir)}).start() as controller:
        assert "without a sandbox (bubblewrap (bwrap) is not installed)" in controller.log()
        first = invoke(controller, "probe", {"read": [], "write": str(tmp_path / "x")})
        assert first["response"]["statusCode"] == 0
        other = create_namespace(["--data", str(data)], "tenant2")
        refused = invoke(controller, "probe", {"read": [], "write": "x"}, auth=other)
    assert refused["response"]["statusCode"] == 3
    assert refused["response"]["result"] == {"error": (
        "this invoker runs actions without a sandbox (bubblewrap (bwrap) is not installed), "
        "so it serves one namespace only: 'guest', not 'tenant2'")}


def _dead_owner() -> str:
    """The owner tag of a process that has exited (its pid and start time)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        return workdirs.owner_tag(child.pid)
    finally:
        child.kill()
        child.wait()


def test_work_folders_of_dead_owners_are_swept_at_start(tmp_path: Path) -> None:
    tmp, data = tmp_path / "tmp", tmp_path / "data"
    dead, live = _dead_owner(), workdirs.owner_tag(os.getpid())
    stale = [tmp / f"edgewhisk-container-{dead}-a1", tmp / f"edgewhisk-action-{dead}-b2",
             tmp / f"edgewhisk-runtime-{dead}-c3", data / "work" / f"edgewhisk-container-{dead}-d4"]
    kept = [tmp / f"edgewhisk-container-{live}-e5", tmp / "edgewhisk-container-unknown",
            data / "work" / f"edgewhisk-container-{live}-f6"]
    for folder in stale + kept:
        (folder / "action").mkdir(parents=True)
        (folder / "action" / "__main__.py").write_text("def main(args): return args\n")
    with Controller(data, env={"TMPDIR": str(tmp)}).start():
        assert [folder for folder in stale if folder.exists()] == []
        assert [folder for folder in kept if not folder.exists()] == []
