"""The proxy survives what actions and callers do wrong, and says so with a clear error.

Bad input changes nothing (a malformed body does not initialize or break anything), a run
before init is an error, and the action process overrunning its deadline or dying is
reported while the proxy keeps serving. Each row is a sequence of calls on a fresh target.
"""

from __future__ import annotations

import base64
import os
import time
from typing import Any

import pytest

from . import client
from .actions import ECHO, src
from .targets import ProcessTarget, RuntimeTarget

SLEEPY = src("""
    import os
    import time
    def main(args):
        if args.get("sleep"):
            time.sleep(args["sleep"])
        return {"pid": os.getpid()}
""")


def deadline_in(seconds: float) -> str:
    return str(int((time.time() + seconds) * 1000))


def error_with(*words: str) -> Any:
    return lambda body: all(w in body.get("error", "") for w in words)


# (id, [(endpoint, raw body bytes | JSON document | a function making it when sent,
#        expected status, body check or None)])
ROWS: list[tuple[str, list[tuple[str, Any, int, Any]]]] = [
    ("a run before init is an error and init still works afterwards", [
        ("run", {"value": {}}, 500, {"error": "no action defined yet"}),
        ("init", {"value": {"code": ECHO}}, 200, {"ok": True}),
        ("run", {"value": {"a": 1}}, 200, {"a": 1}),
    ]),
    ("a malformed init body is refused with 400 and leaves the proxy uninitialized", [
        ("init", b'{"value": {"code": ', 400, error_with("Error unmarshaling request")),
        ("run", {"value": {}}, 500, {"error": "no action defined yet"}),
        ("init", {"value": {"code": ECHO}}, 200, {"ok": True}),
    ]),
    ("an init document whose value is not an object is refused with 400", [
        ("init", {"value": ["code"]}, 400, error_with("not a JSON object")),
        ("init", b"[1, 2]", 400, error_with("not a JSON object")),
        ("init", {"value": {"code": ECHO}}, 200, {"ok": True}),
    ]),
    ("binary code that is not base64 is refused with 400", [
        ("init", {"value": {"code": "%%% not base64 %%%", "binary": True}}, 400,
         error_with("cannot decode the request")),
        ("init", {"value": {"code": ECHO}}, 200, {"ok": True}),
    ]),
    ("binary code that is a corrupt zip fails init with 502", [
        ("init", {"value": {"code": base64.b64encode(b"PK\x03\x04 corrupt").decode(),
                            "binary": True}}, 502, error_with("not a valid zip archive")),
        ("init", {"value": {"code": ECHO}}, 200, {"ok": True}),
    ]),
    ("binary code that is not a zip is the program itself, as upstream saves it", [
        ("init", {"value": {"code": base64.b64encode(ECHO.encode()).decode(),
                            "binary": True}}, 200, {"ok": True}),
        ("run", {"value": {"a": 1}}, 200, {"a": 1}),
    ]),
    ("a malformed run body is refused with 400 and the action keeps working", [
        ("init", {"value": {"code": ECHO}}, 200, {"ok": True}),
        ("run", b'{"value": ', 400, error_with("Error unmarshaling request")),
        ("run", {"value": {"still": "alive"}}, 200, {"still": "alive"}),
    ]),
    ("an action overrunning its deadline is killed and answered with 504", [
        ("init", {"value": {"code": SLEEPY}}, 200, {"ok": True}),
        ("run", lambda: {"value": {}, "deadline": deadline_in(60)}, 200, None),
        ("run", lambda: {"value": {"sleep": 120}, "deadline": deadline_in(1)}, 504,
         error_with("deadline")),
        ("run", {"value": {}}, 500, error_with("command exited")),
        ("init", {"value": {"code": ECHO}}, 403, None),
    ]),
    ("an action killing its own process is reported as command exited", [
        ("init", {"value": {"code": src("""
            import os, signal
            def main(args):
                os.kill(os.getpid(), signal.SIGKILL)
            """)}}, 200, {"ok": True}),
        ("run", {"value": {}}, 400, error_with("command exited", "SIGKILL")),
        ("run", {"value": {}}, 500, error_with("command exited")),
    ]),
    ("an action reading stdin gets end-of-file and cannot disturb the protocol", [
        ("init", {"value": {"code": src("""
            import sys
            def main(args):
                return {"stdin": sys.stdin.read()}
            """)}}, 200, {"ok": True}),
        ("run", {"value": {}}, 200, {"stdin": ""}),
        ("run", {"value": {}}, 200, {"stdin": ""}),
    ]),
    ("a result that is not JSON serialisable answers 502", [
        ("init", {"value": {"code": src("def main(args):\n    return {'s': {1, 2}}")}},
         200, {"ok": True}),
        ("run", {"value": {}}, 502,
         {"error": "The action did not return a dictionary or array."}),
    ]),
    ("__OW_ variables of a previous activation do not leak into the next", [
        ("init", {"value": {"code": src("""
            import os
            def main(args):
                return {"key": os.environ.get("__OW_API_KEY")}
            """)}}, 200, {"ok": True}),
        ("run", {"value": {}, "api_key": "secret"}, 200, {"key": "secret"}),
        ("run", {"value": {}}, 200, {"key": None}),
    ]),
]


def _send(target: RuntimeTarget, endpoint: str, body: Any) -> tuple[int, Any]:
    if callable(body):  # deadlines are made when the call is sent, not when rows are collected
        body = body()
    raw = body if isinstance(body, bytes) else client.json.dumps(body).encode()
    return client.post(target.url, f"/{endpoint}", raw)


@pytest.mark.parametrize("calls", [r[1] for r in ROWS], ids=[r[0] for r in ROWS])
def test_lifecycle(calls: list[tuple[str, Any, int, Any]], runtime: RuntimeTarget) -> None:
    runs = 0
    for i, (endpoint, body, status, check) in enumerate(calls):
        got_status, got = _send(runtime, endpoint, body)
        assert got_status == status, f"call {i}: {got_status} {got}"
        if check is not None:
            assert (check(got) if callable(check) else got == check), f"call {i}: {got}"
        # every /run ends its logs with the sentinels, and so does a failed init (upstream)
        runs += endpoint == "run" or status == 502

    def settled(out: str, err: str) -> bool:
        return client.sentinels(out) == runs == client.sentinels(err)

    out, err = client.settled_logs(runtime, settled)
    assert client.sentinels(out) == runs and client.sentinels(err) == runs, (out, err)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_the_killed_action_process_is_gone_and_the_proxy_still_serves() -> None:
    target = ProcessTarget()
    try:
        assert client.init(target.url, {"code": SLEEPY}) == (200, {"ok": True})
        status, body = client.run(target.url, {})
        pid = body["pid"]
        assert status == 200 and _alive(pid)
        status, _ = client.run(target.url, {"sleep": 120}, deadline=deadline_in(0.5))
        assert status == 504
        assert not _alive(pid)
        assert client.run(target.url, {})[0] == 500
    finally:
        target.stop()


def test_stopping_the_proxy_stops_the_action_process() -> None:
    target = ProcessTarget()
    try:
        client.init(target.url, {"code": SLEEPY})
        pid = client.run(target.url, {})[1]["pid"]
    finally:
        target.stop()
    end = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(pid)


def test_each_sentinel_follows_its_activations_output_on_both_streams(
        runtime: RuntimeTarget) -> None:
    action = src("""
        import sys
        def main(args):
            n = args["n"]
            sys.stdout.write(f"out {n} " + "o" * 100_000 + "\\n")
            sys.stderr.write(f"err {n} " + "e" * 100_000 + "\\n")
            return {"n": n}
    """)
    assert client.init(runtime.url, {"code": action}) == (200, {"ok": True})
    for n in range(3):
        assert client.run(runtime.url, {"n": n}) == (200, {"n": n})
    sentinel = client.SENTINEL + "\n"

    def expected(prefix: str, fill: str) -> str:
        return "".join(f"{prefix} {n} {fill * 100_000}\n{sentinel}" for n in range(3))

    def settled(out: str, err: str) -> bool:
        return client.sentinels(out) == 3 == client.sentinels(err)

    out, err = client.settled_logs(runtime, settled)
    assert out == expected("out", "o")
    assert err == expected("err", "e")
