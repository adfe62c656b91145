"""Run the action proxy as a local child process: the demo's, the bench's and the tests' runtime.

Why a real process (not an in-process app): it is exactly what a container runs, so its
stdout/stderr (captured to files here) carry the same action output and sentinel lines an
invoker would read, and stopping it by pid cleans up everything it started.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from edgewhisk_runtime import workdirs

STARTUP_TIMEOUT = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LocalRuntime:
    """``edgewhisk runtime serve`` on a free local port, with its output captured to files.

    Usage::

        with LocalRuntime(artifacts=Path("store")) as rt:
            rt.init({"code": source})
            status, body = rt.run({"name": "x"}, activation_id="a1")
    """

    def __init__(self, artifacts: Path | None = None, *, host: str = "127.0.0.1",
                 log_dir: Path | None = None, extra_args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = 0
        self.artifacts = artifacts
        self.extra_args = extra_args
        self.env = env
        self._own_log_dir = log_dir is None
        self.log_dir = log_dir or workdirs.make(workdirs.RUNTIME)
        self.stdout_path = self.log_dir / "stdout.log"
        self.stderr_path = self.log_dir / "stderr.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._conn: http.client.HTTPConnection | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> LocalRuntime:
        """Start the proxy and wait until it answers HTTP (retrying another port if taken)."""
        for _ in range(5):
            self.port = free_port(self.host)
            args = [sys.executable, "-m", "edgewhisk_runtime", "serve", "--host", self.host,
                    "--port", str(self.port), "--lifeline-stdin", *self.extra_args]
            if self.artifacts is not None:
                args += ["--artifacts", str(self.artifacts)]
            env = dict(os.environ, **(self.env or {}))
            with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
                # stdin is the proxy's lifeline: if we die, it stops too (--lifeline-stdin).
                self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=out,
                                                stderr=err, env=env)
            if self._wait_ready():
                return self
            self._terminate()
        raise RuntimeError(f"the runtime did not start; its stderr:\n{self.stderr()}")

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def request(self, path: str, body: bytes) -> tuple[int, Any]:
        """POST raw bytes; (status, parsed JSON body, or the text if it is not JSON)."""
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
            try:
                self._conn.request("POST", path, body, {"Content-Type": "application/json"})
                response = self._conn.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data.decode("utf-8", "replace")

    def post(self, path: str, doc: Any) -> tuple[int, Any]:
        return self.request(path, json.dumps(doc).encode())

    def init(self, value: dict[str, Any]) -> tuple[int, Any]:
        """POST /init ``{"value": value}`` (value: code, main, binary, env, name)."""
        return self.post("/init", {"value": value})

    def run(self, value: Any = None, **fields: Any) -> tuple[int, Any]:
        """POST /run ``{"value": value, **fields}`` (fields: activation_id, deadline, ...)."""
        return self.post("/run", {"value": {} if value is None else value, **fields})

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def _terminate(self) -> None:
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        """Stop the proxy by pid (SIGTERM, then SIGKILL); idempotent. Logs stay readable."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._terminate()

    def cleanup(self) -> None:
        """Stop, then delete the captured logs if this object created their folder."""
        self.stop()
        if self._own_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cleanup()
