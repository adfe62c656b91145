"""``edgewhisk artifact put|get|ls|rm|preload`` as the real console script against a real
controller, with ``--apihost``/``--auth`` taken from a wskprops file (``WSK_CONFIG_FILE``)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import struct
import subprocess
import sys
import tarfile
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Controller, started, wskprops_env
from edgewhisk_runtime.artifacts.canonical import blob_chunks, digest

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")
BIG = 5 * 1024 * 1024 + 7  # past the progress threshold of get


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    yield from started(tmp_path_factory.mktemp("cli-artifacts") / "data")


@pytest.fixture
def env(controller: Controller, tmp_path: Path) -> dict[str, str]:
    return wskprops_env(controller, tmp_path)


def edgewhisk(env: dict[str, str], *argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EDGEWHISK), "artifact", *map(str, argv)], capture_output=True,
                          text=True, timeout=120, env=env)


def device(env: dict[str, str], id: str) -> str:
    """``id``, once it has a device token of the namespace (``edgewhisk invoker token create``):
    a registration may name only a device of its namespace as the holder."""
    done = subprocess.run([str(EDGEWHISK), "invoker", "token", "create", "--id", id],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return id


def put_json(env: dict[str, str], *argv: str | Path) -> dict[str, Any]:
    done = edgewhisk(env, "put", *argv, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_put_prints_the_new_versions_metadata_and_get_downloads_it(env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    source = tmp_path / "base.npz"
    source.write_bytes(os.urandom(BIG))
    first = put_json(env, source, "--name", "cli/glucose-base", "--kind", "model",
                     "--meta", "type=classifier", "--meta", "trained_on=glucose",
                     "--metric", "accuracy=0.91", "--metric", "bias.gender=0.05")
    assert {k: first[k] for k in ("name", "version", "kind", "format", "size", "locality")} == {
        "name": "cli/glucose-base", "version": 1, "kind": "model", "format": "npz",
        "size": BIG, "locality": "cloud"}
    assert first["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert first["metadata"] == {"type": "classifier", "trained_on": "glucose"}
    assert first["metrics"] == {"accuracy": 0.91, "bias": {"gender": 0.05}}
    assert put_json(env, source, "--name", "cli/glucose-base", "--kind", "model")["version"] == 2

    target = tmp_path / "out" / "model.npz"
    done = edgewhisk(env, "get", "cli/glucose-base@1", "-o", target)
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == source.read_bytes()
    assert done.stdout.strip() == f"cli/glucose-base@1: 5.2 MB -> {target}"
    assert done.stderr == "", "no progress bar when nobody watches (stdout and stderr are pipes)"
    assert [p.name for p in target.parent.iterdir()] == ["model.npz"]

    shown = edgewhisk(env, "get", "cli/glucose-base")
    assert shown.returncode == 0 and json.loads(shown.stdout)["version"] == 2


def test_ls_filters_and_rm_deletes_one_version(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "readings.json"
    data.write_text('{"mg_dl": [90, 110]}')
    put_json(env, data, "--name", "cli/readings", "--kind", "data")
    listed = edgewhisk(env, "ls", "--kind", "data")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ARTIFACT", "KIND", "FORMAT", "SIZE", "LOCALITY", "COPIES",
                                "STATUS", "GATES"]
    assert data.stat().st_size == 20
    assert lines[1].split() == ["cli/readings@1", "data", "json", "20", "B", "cloud", "cloud",
                                "ok", "-"]
    assert len(lines) == 2
    removed = edgewhisk(env, "rm", "cli/readings@1")
    assert (removed.returncode, removed.stdout.strip()) == (0, "deleted cli/readings@1")
    assert json.loads(edgewhisk(env, "ls", "--kind", "data", "--json").stdout) == []


def test_a_local_artifact_registers_its_metadata_and_cannot_be_downloaded(
        env: dict[str, str], tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"private weights")
    refused = edgewhisk(env, "put", model, "--name", "u1/glucose-model", "--kind", "model",
                        "--locality", "local")
    assert refused.returncode == 2 and "--held-by" in refused.stderr
    doc = put_json(env, model, "--name", "u1/glucose-model", "--kind", "model",
                   "--locality", "local", "--held-by", device(env, "pi1"))
    assert (doc["copies"], doc["size"]) == (["pi1"], len(b"private weights"))
    target = tmp_path / "stolen.bin"
    download = edgewhisk(env, "get", f"u1/glucose-model@{doc['version']}", "-o", target)
    assert download.returncode == 1
    assert ("edgewhisk artifact get: error: artifact u1/glucose-model is local to its device; "
            "only its metadata leaves it (HTTP 403)") in download.stderr
    assert not target.exists() and list(tmp_path.glob(".stolen*")) == []


@pytest.mark.parametrize("argv, code, message", [
    pytest.param(["rm", "cli/nothing"], 2, "NAME@VERSION", id="rm without a version"),
    pytest.param(["rm", "cli/nothing@9"], 1, "no version 9 of artifact cli/nothing",
                 id="rm of a version that does not exist"),
    pytest.param(["get", "cli/nothing"], 1, "no artifact cli/nothing", id="get of an unknown name"),
    pytest.param(["put", "/nonexistent", "--name", "x", "--kind", "data"], 2,
                 "no such file or folder",
                 id="put of a missing file"),
    pytest.param(["ls", "--auth", "nobody:wrong"], 1, "HTTP 401", id="a wrong key"),
])
def test_refusals_exit_non_zero_with_one_line(env: dict[str, str], argv: list[str], code: int,
                                              message: str) -> None:
    done = edgewhisk(env, *argv)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert done.stderr.startswith(f"edgewhisk artifact {argv[0]}: error: ")
    assert done.stderr.count("\n") == 1


def test_without_wskprops_or_flags_the_cli_says_what_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "WSK_CONFIG_FILE": str(tmp_path / "absent")}
    done = edgewhisk(env, "ls")
    assert done.returncode == 2
    assert "--apihost and --auth not given" in done.stderr


def test_preload_pushes_a_version_into_the_chosen_invokers_stores(env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    model = tmp_path / "field.bin"
    model.write_bytes(b"field model")
    doc = put_json(env, model, "--name", "cli/field", "--kind", "model")
    key = f"guest/cli/field@{doc['version']}"
    done = edgewhisk(env, "preload", "cli/field", "--role", "cloud")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{key}: 1 device(s)", "  local0  preloaded"]
    again = edgewhisk(env, "preload", f"cli/field@{doc['version']}", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"artifact": key, "devices": [
        {"invoker": "local0", "status": "cached", "reason": None}]}
    nobody = edgewhisk(env, "preload", "cli/field", "--owner", "nobody", "--label", "a=b")
    assert (nobody.returncode, nobody.stdout.strip()) == (0, f"{key}: 0 device(s)")


@pytest.mark.parametrize("argv, code, message", [
    pytest.param(["preload", "cli/nothing"], 1, "no artifact cli/nothing",
                 id="preload of an unknown name"),
    pytest.param(["preload", "cli/nothing", "--label", "site"], 2, "--label 'site': write "
                 "KEY=VALUE", id="preload with a malformed label"),
    pytest.param(["preload", "cli/nothing", "--min-battery", "3"], 1,
                 "devices.min_battery: must be a number from 0 to 1 (HTTP 400)",
                 id="preload with a battery level over 1"),
    pytest.param(["preload", "cli/nothing", "--standing"], 1, "no artifact cli/nothing",
                 id="standing policy for an unknown name"),
    pytest.param(["preload", "cli/field@1", "--standing"], 2, "follows the latest version",
                 id="standing policy for one version"),
    pytest.param(["preload", "cli/nothing", "--standing", "--min-battery", "-1"], 1,
                 "devices.min_battery: must be a number from 0 to 1 (HTTP 400)",
                 id="standing policy with a negative battery level"),
    pytest.param(["policies", "cli/nothing", "--rm", "nope"], 1, "no preload policy 'nope'",
                 id="delete of an unknown policy"),
])
def test_preload_refusals_exit_non_zero_with_one_line(env: dict[str, str], argv: list[str],
                                                      code: int, message: str) -> None:
    done = edgewhisk(env, *argv)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert done.stderr.startswith(f"edgewhisk artifact {argv[0]}: error: ")
    assert edgewhisk(env, "policies", "cli/nothing").stdout.strip() == \
        "cli/nothing: no standing preload policies"


def test_preload_of_a_local_artifact_is_refused_naming_the_rule(env: dict[str, str],
                                                               tmp_path: Path) -> None:
    model = tmp_path / "mine.bin"
    model.write_bytes(b"mine")
    doc = put_json(env, model, "--name", "u9/mine", "--kind", "model", "--locality", "local",
                   "--held-by", device(env, "pi9"))
    done = edgewhisk(env, "preload", f"u9/mine@{doc['version']}")
    assert done.returncode == 1
    assert (f"edgewhisk artifact preload: error: artifact u9/mine@{doc['version']} is local to "
            "its device; only its metadata leaves it: it cannot be preloaded") in done.stderr


def test_put_of_a_folder_uploads_its_canonical_tar(env: dict[str, str], tmp_path: Path) -> None:
    """A folder travels as the deterministic tar of ``canonical.py``: what is registered is
    that blob's digest, and the download is that blob."""
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.bin").write_bytes(os.urandom(3000))
    size, sha256 = digest(folder)
    doc = put_json(env, folder, "--name", "cli/export", "--kind", "model")
    assert (doc["format"], doc["size"], doc["sha256"]) == ("directory", size, sha256)
    blob = tmp_path / "export.tar"
    assert edgewhisk(env, "get", "cli/export", "-o", blob).returncode == 0
    assert blob.read_bytes() == b"".join(blob_chunks(folder))
    with tarfile.open(blob) as tar:
        assert sorted(tar.getnames()) == ["a.txt", "sub", "sub/b.bin"]


def test_put_of_a_folder_holding_a_link_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "escape").symlink_to("/etc/passwd")
    done = edgewhisk(env, "put", folder, "--name", "cli/linked", "--kind", "data")
    assert done.returncode == 2, done.stderr
    assert "'escape' is a symbolic link" in done.stderr
    assert json.loads(edgewhisk(env, "ls", "--name", "cli/linked", "--json").stdout) == []


def _on_a_terminal(env: dict[str, str], *argv: str | Path) -> tuple[int, str]:
    """Run the command with stdout and stderr on a pseudo-terminal, as a person would; its
    exit status and everything it wrote there."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    child = subprocess.Popen([str(EDGEWHISK), "artifact", *map(str, argv)], env=env,
                             stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal)
    os.close(terminal)
    out = b""
    try:
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            out += data
    finally:
        os.close(controller)
        child.wait(timeout=120)
    return child.returncode, out.decode(errors="replace")


def test_uploads_and_downloads_show_a_progress_bar_on_a_terminal(env: dict[str, str],
                                                                 tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(BIG))
    code, shown = _on_a_terminal(env, "put", source, "--name", "cli/bar", "--kind", "data")
    assert code == 0, shown
    assert "put cli/bar: 100%" in shown and "5.24M/5.24M" in shown, shown
    code, shown = _on_a_terminal(env, "get", "cli/bar", "-o", tmp_path / "copy.bin")
    assert code == 0, shown
    assert "get cli/bar: 100%" in shown and "5.24M/5.24M" in shown, shown
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_a_standing_preload_policy_is_created_listed_and_deleted(env: dict[str, str],
                                                                 tmp_path: Path) -> None:
    """``preload --standing``: the selector becomes a policy that applies now (``local0``, the
    embedded cloud invoker) and from then on; ``policies`` shows it with its decisions."""
    model = tmp_path / "standing.bin"
    model.write_bytes(b"standing model")
    doc = put_json(env, model, "--name", "cli/standing", "--kind", "model")
    key = f"guest/cli/standing@{doc['version']}"
    made = edgewhisk(env, "preload", "cli/standing", "--standing", "--role", "cloud", "--json")
    assert made.returncode == 0, made.stderr
    policy = json.loads(made.stdout)
    assert policy["devices"] == {"labels": {}, "role": "cloud"}
    assert [(d["invoker"], d["status"], d["artifact"]) for d in policy["applied"]] == [
        ("local0", "preloaded", key)]
    listed = edgewhisk(env, "policies", "cli/standing")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == f'{policy["id"]}  {{"labels": {{}}, "role": "cloud"}}'
    assert lines[1].split()[:2] == ["local0", "preloaded"]
    assert "standing policy: role cloud" in lines[1]

    gone = edgewhisk(env, "policies", "cli/standing", "--rm", policy["id"])
    assert (gone.returncode, gone.stdout.strip()) == (
        0, f"deleted standing preload policy {policy['id']} of cli/standing")
    empty = edgewhisk(env, "policies", "cli/standing")
    assert empty.stdout.strip() == "cli/standing: no standing preload policies"

