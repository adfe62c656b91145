"""The API tests' controller and clients: the devkit's and the REST client's, plus helpers.

``Controller`` is :class:`edgewhisk_devkit.Controller` (``edgewhisk controller --port 0 --data
DIR [extra]`` as a child process, ready on ``APIHOST=``/``AUTH=``, stopped by pid) with the
cleanup of leftover containers turned off: a container the controller leaks must fail the test
that checks it, not be killed quietly. ``Client`` is :class:`edgewhisk_client.Client`; tests
read raw answers with ``client.request(METHOD, path)``. ``composer`` runs Composer's own
``compose``/``deploy`` from ``.services/node_modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import edgewhisk_devkit
import pytest
from edgewhisk_client import Client
from edgewhisk_devkit import alive as running
from edgewhisk_devkit import edgewhisk_command as edgewhisk

__all__ = ["GUEST_KEY", "Client", "Controller", "composer", "create_action", "create_namespace",
           "edgewhisk", "js_scenario", "refused_options", "running", "started", "wskprops_env"]

ROOT = Path(__file__).resolve().parents[3]
NODE_MODULES = ROOT / ".services" / "node_modules"
SCRIPTS = Path(__file__).resolve().parent / "js"
CLIENT_TIMEOUT_S = 120.0
GUEST_KEY = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:"
    "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)


class Controller(edgewhisk_devkit.Controller):
    """The devkit's controller without the SIGKILL cleanup of what it leaves behind; its
    clients wait up to 120 s for an answer (a blocking invoke may take the controller's whole
    60 s wait before it answers 202)."""

    def __init__(self, data: Path, *extra: str, **options: Any) -> None:
        options.setdefault("cleanup", False)
        super().__init__(data, *extra, **options)

    def client(self, auth: str | None = None, **options: Any) -> Client:
        options.setdefault("timeout_s", CLIENT_TIMEOUT_S)
        return super().client(auth, **options)


def create_action(client: Client, name: str, code: str, **fields: Any) -> dict[str, Any]:
    """``PUT actions/NAME`` of python:3 ``code`` (no overwrite); the stored entity."""
    body = {"exec": {"kind": "python:3", "code": code}, **fields}
    return client.actions.put(name, body, overwrite=False)


def create_namespace(data_args: list[str], name: str) -> str:
    """``edgewhisk controller namespace create NAME --data DIR`` -> the printed key."""
    done = subprocess.run(edgewhisk("controller", "namespace", "create", name, *data_args),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def composer(tool: str, *args: str, cwd: Path) -> str:
    """Composer's ``tool`` (``compose``, ``deploy``) run in ``cwd``; its stdout."""
    binary = NODE_MODULES / ".bin" / tool
    if not binary.exists():
        pytest.fail(f"openwhisk-composer is not installed in {NODE_MODULES}: run make test")
    done = subprocess.run([str(binary), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, NODE_PATH=str(NODE_MODULES)))
    assert done.returncode == 0, done.stderr
    return done.stdout


def js_scenario(controller: Controller, script: str) -> dict[str, Any]:
    """Run ``js/SCRIPT`` (a scenario of the reference ``openwhisk`` npm client) against
    ``controller``; the JSON object it printed last."""
    if not (NODE_MODULES / "openwhisk").exists():
        pytest.fail(f"the openwhisk npm client is not installed in {NODE_MODULES}: run make test")
    env = dict(os.environ, NODE_PATH=str(NODE_MODULES), APIHOST=controller.api_host,
               AUTH=controller.auth)
    done = subprocess.run(["node", str(SCRIPTS / script)], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def wskprops_env(controller: Controller, folder: Path) -> dict[str, str]:
    """This process's environment with WSK_CONFIG_FILE naming a ``wskprops`` for
    ``controller`` written in ``folder``: commands find it as ``wsk`` would, without flags."""
    props = folder / "wskprops"
    props.write_text(f"APIHOST={controller.api_host}\nAUTH={controller.auth}\n")
    return {**os.environ, "WSK_CONFIG_FILE": str(props)}


def refused_options(data: Path, *options: str) -> str:
    """``edgewhisk controller OPTIONS --data DATA``, which must exit 2 having created
    nothing: its stderr (the refusal)."""
    done = subprocess.run(edgewhisk("controller", *options, "--data", str(data)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert not data.exists()
    return done.stderr


def started(data: Path, *extra: str) -> Iterator[Controller]:
    with Controller(data, *extra).start() as controller:
        yield controller
