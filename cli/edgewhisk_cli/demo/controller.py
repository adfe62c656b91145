"""The demo's embedded controller: a child process and a small REST client for it.

Why a child process and not an in-process app: the demo shows what a user gets from
``edgewhisk controller`` — the same command, the same ``APIHOST=``/``AUTH=`` lines, the same
API that ``wsk`` and the openwhisk npm client speak — and stopping it by pid with SIGTERM
exercises the controller's own clean shutdown (running activations finish, every container is
destroyed). Containers of the process backend are the controller's children; their pids are
noted before the stop so that the demo can say they are gone (and kill them, should the
controller itself have to be killed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
INVOKE_TIMEOUT_S = 300.0  # a blocking invoke answers 202 after 60 s; then the record is polled
NAMESPACE = "_"  # the key's own namespace, as wsk's default


class DemoError(Exception):
    """A step failed; ``str()`` says which and why, ``detail`` holds logs worth reading."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class Activation:
    """One activation as the controller recorded it, with the client's round trip."""

    record: dict[str, Any]
    round_trip_s: float

    @property
    def id(self) -> str:
        return str(self.record["activationId"])

    @property
    def result(self) -> dict[str, Any]:
        return dict(self.record["response"]["result"])

    def annotation(self, key: str) -> Any:
        return next((a["value"] for a in self.record.get("annotations", [])
                     if a.get("key") == key), None)


class EmbeddedController:
    """``edgewhisk controller --port 0 --data DIR`` as a child process (a context manager).

    Its log (stderr) goes to ``log``; ``api_host`` and ``auth`` come from its stdout.
    """

    def __init__(self, data: Path, log: Path, options: tuple[str, ...] = ()) -> None:
        self.data = data
        self.options = options  # more ``edgewhisk controller`` options (e.g. --invokers 0)
        self.log_path = log
        self.process: subprocess.Popen[str] | None = None
        self.pid = 0  # kept after the stop, for the report
        self.api_host = ""
        self.auth = ""
        self.containers: list[int] = []  # the pids of its containers, noted at the stop
        self.started_s = 0.0

    def __enter__(self) -> EmbeddedController:
        started = time.perf_counter()
        command = [sys.executable, "-m", "edgewhisk_cli.main", "controller", "--port", "0",
                   "--data", str(self.data), *self.options]
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=log, text=True)
        self.pid = self.process.pid
        try:
            lines = self._startup_lines()
        except BaseException:
            self.stop()
            raise
        self.api_host, self.auth = lines["APIHOST"], lines["AUTH"]
        self.started_s = time.perf_counter() - started
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _startup_lines(self) -> dict[str, str]:
        """``APIHOST=`` and ``AUTH=`` from its stdout, read on a thread so a hang times out."""
        assert self.process is not None and self.process.stdout is not None
        stdout, found = self.process.stdout, {}

        def read() -> None:
            for line in stdout:
                key, _, value = line.strip().partition("=")
                found[key] = value
                if "AUTH" in found:
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if "APIHOST" not in found or "AUTH" not in found:
            status = self.process.poll()
            why = (f"exited with status {status}" if status is not None
                   else f"printed no APIHOST/AUTH within {START_TIMEOUT_S:.0f} s")
            raise DemoError(f"controller: `edgewhisk controller` {why}", self.log())
        return found

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM and wait (the controller destroys its containers); SIGKILL if it hangs,
        then the containers it left are killed by the pids noted here. Idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            self.containers = children(process.pid)
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)
                for pid in self.containers:  # each proxy leads its own process group
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
        if process.stdout is not None:
            process.stdout.close()

    def client(self) -> ControllerClient:
        return ControllerClient(self.api_host, self.auth, self.log)


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids.extend(int(child) for child in (task / "children").read_text().split())
    return pids


class ControllerClient:
    """The few REST calls the demo makes, as ``wsk`` would, with the guest key."""

    def __init__(self, api_host: str, auth: str, log: Any) -> None:
        self.base = f"{api_host}/api/v1/namespaces/{NAMESPACE}"
        self.session = requests.Session()
        user, _, key = auth.partition(":")
        self.session.auth = (user, key)
        self.controller_log = log

    def close(self) -> None:
        self.session.close()

    def put_action(self, name: str, document: dict[str, Any]) -> dict[str, Any]:
        """``PUT actions/NAME?overwrite=true``; the stored entity."""
        response = self._call("put", f"actions/{name}?overwrite=true", f"deploy {name}",
                              json=document)
        if response.status_code != 200:
            raise DemoError(f"deploy {name}: HTTP {response.status_code}: {_error(response)}")
        return dict(response.json())

    def create_token(self, invoker_id: str) -> str:
        """``POST invokers/tokens {"id": ...}``: a device token for that invoker (shown once)."""
        response = self._call("post", "invokers/tokens", f"token for {invoker_id}",
                              json={"id": invoker_id})
        token = _json(response).get("token")
        if response.status_code not in (200, 201) or not isinstance(token, str):
            raise DemoError(f"token for {invoker_id}: HTTP {response.status_code}: "
                            f"{_error(response)}")
        return token

    def artifacts(self) -> list[dict[str, Any]]:
        """``GET artifacts``: every artifact version of the namespace (the registry's view)."""
        response = self._call("get", "artifacts?limit=200", "list artifacts")
        body = response.json() if response.status_code == 200 else None
        if not isinstance(body, list):
            raise DemoError(f"list artifacts: HTTP {response.status_code}: {_error(response)}")
        return body

    def invoke(self, name: str, params: dict[str, Any], step: str) -> Activation:
        """A blocking invoke; the record (polled if the invoke outlives the wait limit).

        A failed activation (application or platform error) raises DemoError with its logs.
        """
        started = time.perf_counter()
        response = self._call("post", f"actions/{name}?blocking=true", step, json=params)
        body = _json(response)
        if response.status_code == 202 and "activationId" in body:
            record = self._poll(body["activationId"], step)
        elif "activationId" in body and "response" in body:  # 200, 502 and 500 carry a record
            record = body
        else:
            raise DemoError(f"{step}: HTTP {response.status_code}: {_error(response)}")
        done = Activation(record, time.perf_counter() - started)
        outcome = record.get("response", {})
        if not outcome.get("success"):
            error = outcome.get("result", {}).get("error", outcome)
            raise DemoError(f"{step}: activation {done.id} failed ({outcome.get('status')}): "
                            f"{error}", "\n".join(record.get("logs", [])))
        return done

    def _poll(self, activation_id: str, step: str) -> dict[str, Any]:
        deadline = time.monotonic() + INVOKE_TIMEOUT_S
        while time.monotonic() < deadline:
            response = self._call("get", f"activations/{activation_id}", step)
            if response.status_code == 200:
                return dict(response.json())
            time.sleep(0.2)
        raise DemoError(f"{step}: activation {activation_id} was not recorded within "
                        f"{INVOKE_TIMEOUT_S:.0f} s")

    def _call(self, method: str, path: str, step: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, f"{self.base}/{path}", timeout=INVOKE_TIMEOUT_S,
                                        **kwargs)
        except requests.RequestException as exc:
            raise DemoError(f"{step}: the controller did not answer: {exc}",
                            self.controller_log()) from exc


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(response: requests.Response) -> str:
    body = _json(response)
    return str(body.get("error", body)) if body else response.text[:500]
