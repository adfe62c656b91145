"""The python3-ai image: built from the current sources, and a container of it behaves the way an
OpenWhisk invoker expects of a ``wsk action create NAME f.py --docker IMAGE`` action.

The full runtime conformance suite runs against containers too (tests/runtime, target
``container``); these tests cover what only the image can get wrong: its metadata (port, command,
user), the invoker's exact /init and /run bodies, MXNet's native libraries, and cleanup.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import docker
import edgewhisk
import pytest
from edgewhisk_runtime import images

from images.targets import SESSION_LABEL, ContainerFactory, ContainerTarget

pytestmark = pytest.mark.container

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"


def post(target: ContainerTarget, path: str, body: object) -> tuple[int, object]:
    """POST JSON the way the invoker does; returns (status, decoded body)."""
    request = urllib.request.Request(
        f"{target.url}{path}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def init_body(code: str, main: str = "main", env: dict | None = None) -> dict:
    """What the invoker sends to /init for a plain source action created with --docker."""
    return {"value": {"name": "hello", "main": main, "code": code, "binary": False,
                      "env": env or {}}}


def run_body(value: object) -> dict:
    """What the invoker sends to /run: the parameters plus the activation's __OW_* fields."""
    return {"value": value, "namespace": "guest", "action_name": "/guest/hello",
            "action_version": "0.0.1", "activation_id": uuid.uuid4().hex,
            "transaction_id": uuid.uuid4().hex,
            "deadline": str(int(time.time() * 1000) + 60_000), "api_key": "uuid:key"}


def logs_after_activation(target: ContainerTarget, timeout: float = 20.0) -> tuple[str, str]:
    """stdout and stderr once both carry the sentinel (the log driver writes asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        out, err = target.stdout(), target.stderr()
        if (SENTINEL in out and SENTINEL in err) or time.monotonic() > deadline:
            return out, err
        time.sleep(0.1)


@pytest.fixture
def container(container_runtime_factory) -> ContainerTarget:
    target = container_runtime_factory()
    yield target
    target.stop()


# --- the image ------------------------------------------------------------------------------

# A cold build (debootstrap, wheelhouse, podman build) takes minutes; it runs in the setup of
# whichever image test comes first.
@pytest.mark.timeout(1800)
def test_the_image_is_labelled_with_the_source_hash_in_its_tag(python3_ai_image, docker_client):
    labels = docker_client.images.get(python3_ai_image).labels
    assert python3_ai_image == f"{images.IMAGE}:src-{labels[images.HASH_LABEL]}"
    assert labels[images.VERSION_LABEL] == edgewhisk.__version__


HASH_CASES = [
    pytest.param("runtime_images/edgewhisk_runtime/__init__.py", True,
                 id="editing the runtime changes the hash"),
    pytest.param("actions/edgewhisk/__init__.py", True, id="editing the SDK changes the hash"),
    pytest.param("runtime_images/python3-ai/Dockerfile", True,
                 id="editing the Dockerfile changes the hash"),
    pytest.param("setup.cfg", True, id="editing setup.cfg changes the hash"),
    pytest.param("README.md", False, id="editing the README keeps the hash"),
    pytest.param("tests/images/test_python3_ai.py", False, id="editing a test keeps the hash"),
]


def test_the_image_requires_uvloop_as_setup_cfg_does():
    """One source for the bound: the image's wheelhouse asks for setup.cfg's requirement."""
    import configparser

    config = configparser.ConfigParser()
    config.read(images.find_project_root() / "setup.cfg")
    stated = [line.strip() for line in config["options"]["install_requires"].splitlines()
              if line.strip().startswith("uvloop")]
    assert stated == ["uvloop>=0.19"]
    assert stated[0] in images.REQUIREMENTS


@pytest.mark.parametrize(("edited", "changes"), HASH_CASES)
def test_the_source_hash_covers_what_goes_into_the_image(tmp_path, edited, changes):
    """On a copy of the tree, so other work in the checkout cannot race the comparison."""
    root = images.find_project_root()
    for path in [*images.source_files(root), root / edited]:
        if path.is_file():
            copy = tmp_path / path.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())
    before = images.source_hash(tmp_path, "base")
    assert images.source_hash(tmp_path, "base") == before
    with open(tmp_path / edited, "a") as file:
        file.write("\n# edited\n")
    assert (images.source_hash(tmp_path, "base") != before) == changes
    assert images.source_hash(tmp_path, "other base") != before


@pytest.mark.timeout(1800)
def test_building_again_with_unchanged_sources_reuses_the_image(python3_ai_image, tmp_path):
    """On a snapshot of the tree (other work in the checkout must not race the comparison)."""
    root = images.find_project_root()
    for name, content in images.snapshot(root).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    context = root / ".build" / "python3-ai"  # the shared wheelhouse
    first = images.build_image(tag=None, project=tmp_path, context=context,
                               progress=lambda line: None)
    lines: list[str] = []
    again = images.build_image(tag=None, project=tmp_path, context=context,
                               progress=lines.append)
    assert again == first
    assert any("up to date, nothing to build" in line for line in lines), lines
    assert not any("podman build" in line for line in lines), lines


@pytest.mark.timeout(1800)
def test_the_cli_prints_the_tag_on_stdout_and_progress_on_stderr(python3_ai_image, docker_client):
    tag = f"{images.IMAGE}:test-cli-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, "-m", "edgewhisk_cli.main", "runtime", "image", "build", "--tag", tag],
        capture_output=True, text=True, timeout=1700, check=False)
    try:
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"{tag}\n"
        assert "[1/3] base image" in done.stderr and f"image ready: {tag}" in done.stderr
        digest = docker_client.images.get(tag).labels[images.HASH_LABEL]
        assert tag in docker_client.images.get(f"{images.IMAGE}:src-{digest}").tags
    finally:  # removes the tag only: the image keeps its src-<hash> name
        subprocess.run(["podman", "rmi", tag], capture_output=True, check=False)


IMAGE_CONFIG_CASES = [
    pytest.param("ExposedPorts", lambda v: "8080/tcp" in v, id="it exposes port 8080"),
    pytest.param("Cmd", lambda v: v == ["python", "-m", "edgewhisk_runtime", "serve", "--port",
                                        "8080"], id="it starts the proxy on 8080"),
    pytest.param("User", lambda v: v not in ("", "root", "0"), id="it runs as a non-root user"),
    pytest.param("WorkingDir", lambda v: v == "/action", id="actions work in /action"),
]


@pytest.mark.parametrize(("key", "check"), IMAGE_CONFIG_CASES)
def test_image_configuration(python3_ai_image, docker_client, key, check):
    config = docker_client.images.get(python3_ai_image).attrs["Config"]
    assert check(config.get(key)), f"{key} = {config.get(key)!r}"


# --- the container as an invoker sees it ----------------------------------------------------

HELLO = """
import os, sys

def main(args):
    print("hello stdout", args.get("name"))
    print("hello stderr", file=sys.stderr)
    return {"greeting": "Hello " + args.get("name", "stranger") + "!",
            "api_host": os.environ.get("__OW_API_HOST"),
            "activation_id": os.environ.get("__OW_ACTIVATION_ID"),
            "namespace": os.environ.get("__OW_NAMESPACE"),
            "init_env": os.environ.get("GREETING_STYLE")}
"""


def test_a_plain_source_action_runs_as_the_invoker_sends_it(container):
    status, body = post(container, "/init", init_body(HELLO, env={"GREETING_STYLE": "warm"}))
    assert (status, body) == (200, {"ok": True})
    activation = run_body({"name": "edge"})
    status, result = post(container, "/run", activation)
    assert status == 200
    assert result == {"greeting": "Hello edge!", "api_host": "http://127.0.0.1:3233",
                      "activation_id": activation["activation_id"], "namespace": "guest",
                      "init_env": "warm"}
    out, err = logs_after_activation(container)
    assert "hello stdout edge" in out and out.count(SENTINEL) == 1
    assert "hello stderr" in err and err.count(SENTINEL) == 1
    assert out.index("hello stdout") < out.index(SENTINEL)


def test_a_second_init_is_refused_as_upstream_does(container):
    assert post(container, "/init", init_body(HELLO))[0] == 200
    status, body = post(container, "/init", init_body(HELLO))
    assert status == 403
    assert body == {"error": "Cannot initialize the action more than once."}


GLUON = """
def main(args):
    import mxnet as mx
    from mxnet import gluon, nd
    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(8, activation="relu"), gluon.nn.Dense(2))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    out = net(nd.array(args["x"]))
    return {"mxnet": mx.__version__, "shape": list(out.shape),
            "finite": bool(nd.contrib.isfinite(out).min().asscalar())}
"""


def test_mxnet_runs_a_gluon_forward_pass_inside_the_container(container):
    assert post(container, "/init", init_body(GLUON)) == (200, {"ok": True})
    status, result = post(container, "/run", run_body({"x": [[0.1, 0.2, 0.3]] * 4}))
    assert (status, result) == (200, {"mxnet": "1.9.1", "shape": [4, 2], "finite": True})


# What an OpenWhisk invoker adds to `docker run` for an action with the default limits.
INVOKER_RUN_OPTIONS = {"mem_limit": "256m", "memswap_limit": "256m", "cpu_shares": 256,
                       "cap_drop": ["NET_RAW", "NET_ADMIN"]}


def test_the_gluon_action_fits_the_invokers_default_limits(container_runtime_factory):
    target = container_runtime_factory(options=INVOKER_RUN_OPTIONS)
    try:
        assert target.container.attrs["HostConfig"]["Memory"] == 256 * 1024 * 1024
        assert post(target, "/init", init_body(GLUON)) == (200, {"ok": True})
        status, result = post(target, "/run", run_body({"x": [[1.0, 2.0, 3.0]]}))
        assert (status, result) == (200, {"mxnet": "1.9.1", "shape": [1, 2], "finite": True})
    finally:
        target.stop()


def test_every_native_library_of_mxnet_resolves_in_the_image(container):
    lib = "/opt/edgewhisk/lib/python3.11/site-packages/mxnet/libmxnet.so"
    code, output = container.container.exec_run(["ldd", lib])
    text = output.decode()
    assert code == 0, text
    assert "not found" not in text, text
    assert "libgomp.so.1" in text and "libquadmath.so.0" in text


# --- cleanup ----------------------------------------------------------------------------------

def test_stop_removes_the_container(container_runtime_factory, docker_client):
    target = container_runtime_factory()
    container_id = target.container.id
    target.stop()
    target.stop()  # idempotent
    assert container_id not in {c.id for c in docker_client.containers.list(all=True)}


def test_closing_a_factory_removes_containers_a_test_forgot(docker_client, python3_ai_image):
    factory = ContainerFactory(docker_client, python3_ai_image, session=uuid.uuid4().hex)
    forgotten = factory()  # never stopped
    assert [c.id for c in factory.leftovers()] == [forgotten.container.id]
    factory.close()
    assert factory.leftovers() == []
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(forgotten.container.id)


def test_no_container_of_this_session_is_left_behind(container_factory, docker_client):
    """Runs last in this module: every container the tests above started is gone."""
    labelled = docker_client.containers.list(
        all=True, filters={"label": f"{SESSION_LABEL}={container_factory.session}"})
    assert labelled == []
