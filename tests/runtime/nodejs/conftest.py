"""The Node.js proxy as a real child process (``node runtime_images/nodejs/proxy.js``), and a
Composer conductor action to run in it.

``node_proxy`` is a factory of fresh proxies on free ports (extra environment and arguments
per proxy), each with stdout/stderr captured to files, all stopped by pid at teardown.
``conductor`` is the action document `deploy flow flow.json` would create for a small
composition compiled by openwhisk-composer's `compose` (installed in .services by `make test`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
from edgewhisk_runtime.local import free_port

ROOT = Path(__file__).resolve().parents[3]
PROXY = ROOT / "runtime_images" / "nodejs" / "proxy.js"
SERVICES = ROOT / ".services" / "node_modules"
INVOKER_ENV = {"__OW_API_HOST": "http://127.0.0.1:3233"}
STARTUP_TIMEOUT = 30.0


def wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    """Return once ``process`` accepts connections on ``port``; raise if it exits or stalls."""
    end = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"node proxy exited at startup (status {process.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"node proxy did not listen within {STARTUP_TIMEOUT}s")


class NodeProxy:
    """One ``node proxy.js --port P`` process; ``stop()`` ends it (SIGTERM, then SIGKILL)."""

    def __init__(self, log_dir: Path, env: Mapping[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = log_dir / "stdout.log"
        self.stderr_path = log_dir / "stderr.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("__OW_")}
        full_env.pop("NODE_PATH", None)
        full_env.update(INVOKER_ENV)
        full_env.update(env or {})
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                ["node", str(PROXY), "--port", str(self.port), *args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=full_env)
        self.pid = self.process.pid
        try:
            wait_listening(self.process, self.port)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}: {self.stderr()}") from None

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def children(self) -> list[int]:
        """Pids of the proxy's child processes (the action process, once initialized)."""
        found = []
        for task in Path(f"/proc/{self.pid}/task").glob("*/children"):
            found += [int(pid) for pid in task.read_text().split()]
        return found

    def stop(self) -> int | None:
        """Stop by pid; returns the exit status."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode


class ProxyFactory(Protocol):
    def __call__(self, env: Mapping[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> NodeProxy: ...


@pytest.fixture
def node_proxy(tmp_path: Path) -> Iterator[ProxyFactory]:
    """A factory of fresh Node.js proxies, all stopped after the test."""
    started: list[NodeProxy] = []

    def factory(env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()) -> NodeProxy:
        proxy = NodeProxy(tmp_path / f"proxy{len(started)}", env, args)
        started.append(proxy)
        return proxy

    yield factory
    for proxy in started:
        proxy.stop()


COMPOSER = SERVICES / "openwhisk-composer"
DEPLOY_ACTION = Path(__file__).with_name("deploy_action.js")
FLOW = """
const composer = require('openwhisk-composer')
module.exports = composer.sequence(
  'first',
  p => ({ n: p.n * 10, hostname: typeof require('os').hostname }),
  composer.if(p => p.n > 100, 'big', 'small'))
"""


def _node(*args: str, cwd: Path) -> str:
    env = {**os.environ, "NODE_PATH": str(SERVICES)}
    done = subprocess.run(["node", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="session")
def conductor(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The conductor action document `deploy flow flow.json` would create."""
    if not COMPOSER.is_dir():
        pytest.fail(f"{COMPOSER} is missing: run `make test` (it installs openwhisk-composer "
                    "and openwhisk into .services) or `npm install --prefix "
                    f"{ROOT / '.services'} openwhisk-composer@0.12.0 openwhisk`")
    work = tmp_path_factory.mktemp("composition")
    (work / "flow.js").write_text(FLOW)
    compose = str(COMPOSER / "bin" / "compose.js")
    (work / "flow.json").write_text(_node(compose, "flow.js", cwd=work))
    actions = json.loads(_node(str(DEPLOY_ACTION), "flow", "flow.json", cwd=work))
    action = actions[-1]
    action["js"] = _node(compose, "flow.js", "--js", cwd=work)
    return action
