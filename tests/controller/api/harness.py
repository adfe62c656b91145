"""A real controller process and a small ``requests`` client for the API tests.

``Controller`` runs ``edgewhisk controller --port P --data DIR [extra]`` as a child process,
waits for its ``APIHOST=``/``AUTH=`` lines, and stops it by pid (SIGTERM, then SIGKILL).
``Client`` is a ``requests.Session`` bound to one API host and one key. ``composer`` runs
Composer's own ``compose``/``deploy`` from ``.services/node_modules``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from edgewhisk_runtime.local import free_port

ROOT = Path(__file__).resolve().parents[3]
NODE_MODULES = ROOT / ".services" / "node_modules"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
GUEST_KEY = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:"
    "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)


def edgewhisk(*args: str) -> list[str]:
    return [sys.executable, "-m", "edgewhisk_cli.main", *args]


class Controller:
    """One controller child process on a free port, state in ``data``."""

    def __init__(self, data: Path, *extra: str, cwd: Path | None = None) -> None:
        self.data = data
        self.extra = extra
        self.cwd = cwd  # where it runs (``data`` may then be relative to it)
        self.port = 0
        self.api_host = ""
        self.auth = ""
        self.process: subprocess.Popen[str] | None = None
        folder = data if cwd is None else cwd / data
        self.stderr_path = folder.parent / f"{folder.name}-controller.log"

    def start(self) -> Controller:
        self.port = free_port()
        args = edgewhisk("controller", "--port", str(self.port), "--data", str(self.data),
                         *self.extra)
        with open(self.stderr_path, "a") as err:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, cwd=self.cwd,
                                            stdout=subprocess.PIPE, stderr=err, text=True)
        lines = self._read_startup()
        self.api_host = lines["APIHOST"]
        self.auth = lines["AUTH"]
        return self

    def _read_startup(self) -> dict[str, str]:
        assert self.process is not None and self.process.stdout is not None
        found: dict[str, str] = {}
        stdout = self.process.stdout

        def read() -> None:
            for line in stdout:
                key, _, value = line.strip().partition("=")
                found[key] = value
                if "AUTH" in found:
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if "AUTH" not in found:
            self.stop()
            raise AssertionError(f"the controller did not start:\n{self.log()}")
        return found

    def log(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def children(self) -> list[int]:
        """Pids of the controller's child processes (process-backend containers)."""
        assert self.process is not None
        pids: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            text = (task / "children").read_text().split()
            pids.extend(int(pid) for pid in text)
        return pids

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """``sig`` (SIGTERM), wait; SIGKILL if it hangs. Returns the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    def client(self, auth: str | None = None) -> Client:
        return Client(self.api_host, auth or self.auth)


class Client(requests.Session):
    """Requests against ``/api/v1/namespaces/{ns}/...`` with one key."""

    def __init__(self, api_host: str, auth: str | None, namespace: str = "_") -> None:
        super().__init__()
        self.api_host = api_host
        self.ns = namespace
        if auth is not None:
            user, _, key = auth.partition(":")
            self.auth = (user, key)

    def url(self, path: str, ns: str | None = None) -> str:
        if path.startswith("/"):
            return self.api_host + path
        return f"{self.api_host}/api/v1/namespaces/{ns or self.ns}/{path}"

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 120)
        verb = method.decode() if isinstance(method, bytes) else method
        return super().request(verb, self.url(str(url)), *args, **kwargs)

    def create_action(self, name: str, code: str, **fields: Any) -> dict[str, Any]:
        body = {"exec": {"kind": "python:3", "code": code}, **fields}
        response = self.put(f"actions/{name}", json=body)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def wait_activation(self, activation_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Poll until the activation is recorded (non-blocking invokes, trigger fires)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            response = self.get(f"activations/{activation_id}")
            if response.status_code == 200:
                return response.json()  # type: ignore[no-any-return]
            assert response.status_code == 404, response.text
            time.sleep(0.1)
        raise AssertionError(f"activation {activation_id} was not recorded in {timeout_s}s")


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


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def wskprops_env(controller: Controller, folder: Path) -> dict[str, str]:
    """This process's environment with WSK_CONFIG_FILE naming a ``wskprops`` for
    ``controller`` written in ``folder``: commands find it as ``wsk`` would, without flags."""
    props = folder / "wskprops"
    props.write_text(f"APIHOST={controller.api_host}\nAUTH={controller.auth}\n")
    return {**os.environ, "WSK_CONFIG_FILE": str(props)}


def started(data: Path, *extra: str) -> Iterator[Controller]:
    controller = Controller(data, *extra).start()
    try:
        yield controller
    finally:
        controller.stop()
