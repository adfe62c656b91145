"""What an action of the process backend can see and do: real bubblewrap sandboxes.

Each action below reports what it finds (its environment, its user, its processes, files it
tries to read or write); the test plants what it must not find (a secret in the invoker's
environment, a data folder, another container's folder, the node store) and checks the
limits the action's own limits give it. Without bubblewrap, the backend serves one namespace.
"""

from __future__ import annotations

import os
import resource
import shutil
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_runtime.artifacts.stage import run_field
from edgewhisk_runtime.containers import ContainerPool, NamespaceRefused, ProcessBackend
from edgewhisk_runtime.containers.process import DEFAULT_FSIZE_MB, DEFAULT_NPROC
from edgewhisk_runtime.containers.sandbox import DATA_FACTOR, SANDBOX_UID, Sandbox
from edgewhisk_runtime.environment import is_allowed

from .support import Run, fields, spec
from .test_pool import MakePool

MIB = 1024 * 1024
PROBE = """
import os, resource
from pathlib import Path

def attempt(fn):
    try:
        return {"ok": fn()}
    except Exception as exc:
        return {"error": type(exc).__name__}

def main(args):
    paths = args.get("read", [])
    return {
        "env": dict(os.environ), "uid": os.getuid(), "gid": os.getgid(),
        "cwd": os.getcwd(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "limits": {name: resource.getrlimit(getattr(resource, name))
                   for name in ("RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_CPU")},
        "read": {p: attempt(lambda p=p: sorted(os.listdir(p)) if Path(p).is_dir()
                            else Path(p).read_text()) for p in paths},
        "write": {p: attempt(lambda p=p: Path(p).write_text("x") and True)
                  for p in args.get("write", [])},
    }
"""
HOG = """
def main(args):
    held = bytearray(args["mb"] * 1024 * 1024)
    return {"held_mb": len(held) // (1024 * 1024)}
"""
BIG_FILE = """
import os
def main(args):
    path = os.path.join(os.environ["TMPDIR"], "big")
    try:
        with open(path, "wb") as out:
            out.write(b"x" * args["bytes"])
        return {"written": os.path.getsize(path)}
    except OSError as exc:
        return {"error": exc.strerror}
"""
CONSUMER = """
import os
from edgewhisk import consumes

@consumes.data("readings", name="readings")
def main(args, readings):
    answer = {"path": str(readings.path), "text": readings.path.read_text()}
    for name, change in (("write", lambda: readings.path.write_text("changed")),
                         ("chmod", lambda: os.chmod(readings.path, 0o666)),
                         ("store", lambda: os.listdir(args["store"]))):
        try:
            change()
            answer[name] = "done"
        except OSError as exc:
            answer[name] = exc.strerror if name != "store" else type(exc).__name__
    return answer
"""



def probe(run: Run, pool: ContainerPool, key: str = "guest/a@1", **value: Any) -> Any:
    outcome = run(pool.run(spec(PROBE, key=key), value, fields("a1")))
    assert outcome.status == 200, outcome
    return outcome.response


def test_the_backend_finds_bubblewrap_here() -> None:
    """Every other test here needs bubblewrap: ``make test`` installs it
    (``runtime_images/host-setup.sh``), so where it is missing the suite fails, never skips."""
    backend = ProcessBackend()
    assert backend.sandbox is not None and backend.unsandboxed is None


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
def test_an_action_sees_only_the_allow_listed_environment(
        run: Run, make_pool: MakePool, monkeypatch: pytest.MonkeyPatch, sandboxed: bool) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the invoker's secret")
    monkeypatch.setenv("PYTHONSTARTUP", "/somewhere/startup.py")
    pool = make_pool(ProcessBackend(**({} if sandboxed else {"sandbox": None})))
    env = probe(run, pool)["env"]
    assert "AWS_SECRET_ACCESS_KEY" not in env and "PYTHONSTARTUP" not in env
    assert [key for key in env if not is_allowed(key)] == []
    assert env["__OW_API_HOST"] == "http://127.0.0.1:3233"  # the init env, its own
    assert env["__OW_ACTIVATION_ID"] == "a1"


def test_a_sandboxed_action_has_its_own_user_processes_and_folders(
        run: Run, make_pool: MakePool, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret").write_text("the controller's store")
    pool = make_pool(ProcessBackend())
    first = probe(run, pool, key="guest/a@1", read=[str(data)])
    other = probe(run, pool, key="guest/b@1", read=[str(data), first["cwd"]],
                  write=["/created-at-root", "/usr/created", "/tmp/mine", "relative-file"])
    assert (other["uid"], other["gid"]) == (SANDBOX_UID, SANDBOX_UID) != (os.getuid(),)
    assert max(other["pids"]) < 10 and os.getpid() not in other["pids"]
    assert first["read"][str(data)] == {"error": "FileNotFoundError"}
    assert other["read"][first["cwd"]] == {"error": "FileNotFoundError"}
    assert other["write"] == {"/created-at-root": {"error": "OSError"},
                              "/usr/created": {"error": "OSError"},
                              "/tmp/mine": {"ok": True}, "relative-file": {"ok": True}}
    assert not Path("/tmp/mine").exists() and not Path("/created-at-root").exists()


def test_a_folder_the_invoker_hides_is_empty_even_inside_a_bound_one(
        run: Run, make_pool: MakePool, tmp_path: Path) -> None:
    shared = tmp_path / "installed"
    (shared / "data").mkdir(parents=True)
    (shared / "visible.txt").write_text("installed software")
    (shared / "data" / "secret").write_text("the store")
    sandbox = Sandbox(shutil.which("bwrap") or "", shutil.which("prlimit") or "",
                      extra=[shared], hidden=[shared / "data"])
    pool = make_pool(ProcessBackend(sandbox=sandbox))
    found = probe(run, pool, read=[str(shared / "visible.txt"), str(shared / "data"),
                                   str(shared / "data" / "secret")])["read"]
    assert found == {str(shared / "visible.txt"): {"ok": "installed software"},
                     str(shared / "data"): {"ok": []},
                     str(shared / "data" / "secret"): {"error": "FileNotFoundError"}}


def test_limits_come_from_the_action_and_hold(run: Run, make_pool: MakePool) -> None:
    pool = make_pool(ProcessBackend())
    limits = {name: tuple(pair) for name, pair in probe(run, pool)["limits"].items()}
    assert limits["RLIMIT_DATA"] == (256 * DATA_FACTOR * MIB,) * 2  # spec(): memory_mb=256
    assert limits["RLIMIT_FSIZE"] == (DEFAULT_FSIZE_MB * MIB,) * 2
    assert limits["RLIMIT_NPROC"] == (DEFAULT_NPROC, DEFAULT_NPROC)
    soft_cpu = limits["RLIMIT_CPU"][0]
    assert soft_cpu != resource.RLIM_INFINITY and soft_cpu <= 31  # timeout_ms=30_000
    hog = spec(HOG, key="guest/hog@1", memory_mb=128)
    fits = run(pool.run(hog, {"mb": 16}, fields("a2")))
    assert (fits.status, fits.response) == (200, {"held_mb": 16})
    over = run(pool.run(hog, {"mb": 128 * DATA_FACTOR}, fields("a3")))
    assert over.status == 200 and "error" in over.response  # a MemoryError, nothing held


def test_a_file_over_the_size_limit_is_refused(run: Run, make_pool: MakePool) -> None:
    pool = make_pool(ProcessBackend(fsize_mb=1))
    action = spec(BIG_FILE, key="guest/big@1")
    small = run(pool.run(action, {"bytes": 1000}, fields("a1")))
    big = run(pool.run(action, {"bytes": 2 * MIB}, fields("a2")))
    assert small.response == {"written": 1000}
    assert big.response == {"error": "File too large"}


def test_a_consumed_artifact_is_readable_but_not_writable_and_the_store_stays_hidden(
        run: Run, make_pool: MakePool, tmp_path: Path) -> None:
    store = tmp_path / "node-store"
    blob = store / "blobs" / "abc"
    blob.parent.mkdir(parents=True)
    blob.write_text("readings")
    blob.chmod(0o444)
    produce_root = tmp_path / "produced"
    produce_root.mkdir()
    pool = make_pool(ProcessBackend(workroot=tmp_path / "work", hidden=[store]))
    staged = run_field({"readings": {"path": str(blob), "format": "bytes"}}, produce_root)
    outcome = run(pool.run(spec(CONSUMER, key="guest/c@1"), {"store": str(store)},
                           fields("a1", **staged)))
    assert outcome.status == 200, outcome
    seen = outcome.response
    assert seen["text"] == "readings" and seen["path"] != str(blob)
    assert seen["write"] == seen["chmod"] == "Read-only file system"
    assert seen["store"] == "FileNotFoundError"
    assert blob.read_text() == "readings" and blob.stat().st_mode & 0o777 == 0o444
    assert not list((tmp_path / "work").glob("*/in/*"))  # the run's links are gone


def test_an_unsandboxed_backend_serves_one_namespace(run: Run, make_pool: MakePool,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="edgewhisk_runtime.containers"):
        backend = ProcessBackend(sandbox=None)
    assert "without a sandbox (the sandbox is turned off)" in caplog.text
    pool = make_pool(backend)
    assert probe(run, pool, key="tenant1/a@1")["uid"] == os.getuid()
    with pytest.raises(NamespaceRefused) as refused:
        run(pool.run(spec(PROBE, key="tenant2/a@1"), {}, fields("b1")))
    assert str(refused.value) == ("this invoker runs actions without a sandbox (the sandbox is "
                                  "turned off), so it serves one namespace only: 'tenant1', "
                                  "not 'tenant2'")
    assert probe(run, pool, key="tenant1/other@1")["uid"] == os.getuid()
