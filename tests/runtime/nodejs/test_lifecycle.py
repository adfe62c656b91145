"""The Node.js proxy's life: deadlines, stopping, ports, NODE_PATH, concurrent activations.

Why these matter to the container pool: an action overrunning its deadline is killed and
answered with an error while the proxy stays up (the pool then destroys the container);
SIGTERM takes the action and everything it started with it; `require` finds what NODE_PATH
offers (Composer's conductors need `openwhisk` and `redis` from there).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_runtime.local import free_port

from .. import client
from .conftest import PROXY, ProxyFactory, wait_listening

ECHO_CODE = "function main(args) { return args }\n"
DEADLINE_ERROR = {"error": "The action exceeded its deadline and was stopped."}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


def _soon_gone(pid: int) -> bool:
    for _ in range(100):
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _deadline_in(seconds: float) -> str:
    return str(int((time.time() + seconds) * 1000))


OVERRUNS = [
    ("a promise that never settles", "function main() { return new Promise(() => {}) }"),
    ("a busy loop that never yields", "function main() { for (;;) {} }"),
]


@pytest.mark.parametrize("code", [c for _, c in OVERRUNS], ids=[
    f"{label} past its deadline is killed and answered 504, later runs answer command exited"
    for label, _ in OVERRUNS])
def test_an_action_overrunning_its_deadline_is_killed(code: str, node_proxy: ProxyFactory) -> None:
    proxy = node_proxy()
    assert client.init(proxy.url, {"code": code}) == (200, {"ok": True})
    [action_pid] = proxy.children()
    assert client.run(proxy.url, {}, deadline=_deadline_in(1.0)) == (504, DEADLINE_ERROR)
    assert _soon_gone(action_pid)
    status, body = client.run(proxy.url, {}, deadline=_deadline_in(30))
    assert (status, body["error"].startswith("command exited")) == (400, True), body
    assert proxy.process.poll() is None, "the proxy itself must stay up"
    out, err = proxy.stdout(), proxy.stderr()
    assert client.sentinels(out) == client.sentinels(err) == 2
    assert "exceeded its deadline" in err


def test_an_action_within_its_deadline_is_answered(node_proxy: ProxyFactory) -> None:
    proxy = node_proxy()
    code = "function main() { return new Promise(r => setTimeout(() => r({ ok: 1 }), 50)) }"
    assert client.init(proxy.url, {"code": code}) == (200, {"ok": True})
    assert client.run(proxy.url, {}, deadline=_deadline_in(60)) == (200, {"ok": 1})


def test_sigterm_stops_the_proxy_the_action_and_what_the_action_started(
        node_proxy: ProxyFactory) -> None:
    proxy = node_proxy()
    code = ("function main() { const c = require('child_process')"
            ".spawn('sleep', ['300'], { stdio: 'ignore' }); return { pid: c.pid } }")
    assert client.init(proxy.url, {"code": code}) == (200, {"ok": True})
    [action_pid] = proxy.children()
    status, body = client.run(proxy.url, {})
    assert status == 200, body
    assert _alive(body["pid"]) and _alive(action_pid)
    assert proxy.stop() == 0
    assert _soon_gone(action_pid), "the action process outlived the proxy"
    assert _soon_gone(body["pid"]), "a process the action started outlived the proxy"


def _start_bare(env: dict[str, str], args: tuple[str, ...] = (),
                **streams: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["node", str(PROXY), *args], env={**os.environ, **env},
                            stdin=subprocess.DEVNULL, **streams)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


def test_the_port_comes_from_ow_port_without_flags() -> None:
    port = free_port()
    process = _start_bare({"__OW_PORT": str(port)}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        wait_listening(process, port)
        url = f"http://127.0.0.1:{port}"
        assert client.run(url, {}) == (500, {"error": "no action defined yet"})
    finally:
        _stop(process)


def test_on_pipes_a_slow_reader_still_sees_the_output_before_the_sentinels() -> None:
    """What the process backend reads: pipes, with output larger than a pipe's buffer."""
    port = free_port()
    process = _start_bare({}, ("--port", str(port)), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    streams: dict[str, bytes] = {}

    def drain(name: str, pipe: Any) -> None:
        chunks = []
        while chunk := pipe.read(4096):
            chunks.append(chunk)
            time.sleep(0.0005)
        streams[name] = b"".join(chunks)

    readers = [threading.Thread(target=drain, args=(name, getattr(process, name)))
               for name in ("stdout", "stderr")]
    for reader in readers:
        reader.start()
    try:
        wait_listening(process, port)
        url = f"http://127.0.0.1:{port}"
        code = ("function main(a) { const s = 'y'.repeat(a.n); console.log(s); console.error(s);"
                " return { n: s.length } }")
        assert client.init(url, {"code": code}) == (200, {"ok": True})
        for _ in range(3):
            assert client.run(url, {"n": 300_000}) == (200, {"n": 300_000})
    finally:
        _stop(process)
        for reader in readers:
            reader.join(timeout=30)
    expected = ("y" * 300_000 + "\n" + client.SENTINEL + "\n") * 3
    assert streams["stdout"].decode() == expected
    assert streams["stderr"].decode() == expected


def test_modules_on_node_path_can_be_required(node_proxy: ProxyFactory, tmp_path: Path) -> None:
    modules = tmp_path / "node_modules"
    (modules / "edgewhisk-test-lib").mkdir(parents=True)
    (modules / "edgewhisk-test-lib" / "index.js").write_text("exports.twice = x => 2 * x\n")
    proxy = node_proxy({"NODE_PATH": str(modules)})
    code = ("const lib = require('edgewhisk-test-lib')\n"
            "function main(a) { return { v: lib.twice(a.v) } }")
    assert client.init(proxy.url, {"code": code}) == (200, {"ok": True}), proxy.stderr()
    assert client.run(proxy.url, {"v": 21}) == (200, {"v": 42})


def test_concurrent_activations_each_get_their_own_result(node_proxy: ProxyFactory) -> None:
    proxy = node_proxy()
    code = ("function main(a) { return new Promise(r => "
            "setTimeout(() => r({ n: a.n }), (5 - a.n) * 20)) }")
    assert client.init(proxy.url, {"code": code}) == (200, {"ok": True})
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda n: client.run(proxy.url, {"n": n}), range(5)))
    assert answers == [(200, {"n": n}) for n in range(5)]
    assert client.sentinels(proxy.stdout()) == 5


def test_unknown_paths_answer_404(node_proxy: ProxyFactory) -> None:
    proxy = node_proxy()
    assert client.post(proxy.url, "/nothing", b"{}")[0] == 404


def test_a_given_workdir_holds_the_action_and_is_left_to_its_owner(
        node_proxy: ProxyFactory, tmp_path: Path) -> None:
    workdir = tmp_path / "container"
    proxy = node_proxy(args=("--workdir", str(workdir)))
    assert client.init(proxy.url, {"code": ECHO_CODE}) == (200, {"ok": True})
    assert (workdir / "action" / "index.js").read_text() == ECHO_CODE
    assert proxy.stop() == 0
    assert workdir.is_dir()


def test_the_default_workdir_is_temporary_and_removed_at_exit(
        node_proxy: ProxyFactory, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proxy = node_proxy({"TMPDIR": str(scratch)})
    assert client.init(proxy.url, {"code": ECHO_CODE}) == (200, {"ok": True})
    assert len(list(scratch.glob("edgewhisk-node-action-*/action/index.js"))) == 1
    assert proxy.stop() == 0
    assert list(scratch.iterdir()) == []
