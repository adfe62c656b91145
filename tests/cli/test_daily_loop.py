"""The daily loop without ``wsk``: ``edgewhisk action ...``, ``edgewhisk activation ...`` and
``edgewhisk namespace ...`` as the real console script against a real controller (the
embedded default: SQLite, the ``process`` backend), ``wskprops`` from ``WSK_CONFIG_FILE``.

The flags are ``wsk``'s (``-p``, ``-P``, ``-a``, ``-A``, ``-b``, ``-r``, ``-t``, ``-m``, ``-l``,
``--kind``, ``--docker``, ``--main``, ``--last``); so are the answers (``ok: created action
NAME``, ``ok: invoked /_/NAME with id ID``). Every refusal is one line on stderr with exit
status 1 (the controller said no, or is unreachable) or 2 (usage: nothing was sent), and
changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller.api.harness import Controller, create_namespace, started, wskprops_env

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")

HELLO = """
    from edgewhisk import policy

    @policy.deadline("2s")
    def main(args):
        print("greeting", args.get("name", "world"))
        return {"greeting": "Hello, " + args.get("name", "world") + "!", "args": args}
"""
FAILING = "def main(args):\n    return {'error': 'no ' + args.get('what', 'luck')}\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("daily-loop") / "data"


@pytest.fixture(scope="module")
def controller(data: Path) -> Iterator[Controller]:
    yield from started(data)


@pytest.fixture
def env(controller: Controller, tmp_path: Path) -> dict[str, str]:
    return wskprops_env(controller, tmp_path)


def edgewhisk(env: dict[str, str], *argv: str | Path, timeout: float = 120,
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EDGEWHISK), *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def ok(env: dict[str, str], *argv: str | Path) -> str:
    done = edgewhisk(env, *argv)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def test_create_invoke_and_read_back_the_activation(env: dict[str, str], tmp_path: Path) -> None:
    hello = write(tmp_path, "hello.py", HELLO)
    assert ok(env, "action", "create", "hello", hello) == "ok: created action hello\n"
    stored = json.loads(ok(env, "action", "get", "hello"))
    assert stored["exec"]["kind"] == "python:3", "a .py file runs on the embedded default"
    assert stored["annotations"][0]["key"] == "edgewhisk"
    assert stored["annotations"][0]["value"]["policies"] == [{"type": "deadline",
                                                             "within": "2s"}]
    result = json.loads(ok(env, "action", "invoke", "hello", "-p", "name", "edge", "--result"))
    assert result["greeting"] == "Hello, edge!"

    answer = ok(env, "action", "invoke", "hello", "-p", "name", "later")
    assert answer.startswith("ok: invoked /_/hello with id ")
    activation_id = answer.split()[-1]
    record = _eventually(env, "activation", "get", activation_id)
    assert record["response"]["result"]["greeting"] == "Hello, later!"
    assert json.loads(ok(env, "activation", "result", activation_id))["greeting"] == \
        "Hello, later!"
    logs = ok(env, "activation", "logs", activation_id).splitlines()
    assert len(logs) == 1 and logs[0].endswith("stdout: greeting later")
    assert ok(env, "activation", "logs", activation_id, "--strip") == "greeting later\n"
    assert ok(env, "activation", "logs", "--last", "--strip") == "greeting later\n"

    said = ok(env, "activation", "explain", activation_id).splitlines()
    why = next(a["value"] for a in record["annotations"] if a["key"] == "placement")
    assert said[0] == (f"activation {activation_id} ran on {why['invoker']}: the best of "
                       f"{why['candidates']} candidate(s) among {why['of']} invoker(s), score "
                       f"{why['score']:g}.")
    assert json.loads(ok(env, "activation", "explain", "--last", "--json")) == why
    table = ok(env, "activation", "list", "hello").splitlines()
    assert table[0].split() == ["ACTIVATION", "NAME", "STATUS", "START", "DURATION", "INVOKER"]
    assert table[1].split()[:3] == [activation_id, "hello", "success"]
    assert table[1].split()[-1] == "local0"
    assert all(len(line) <= 120 for line in table)


def _eventually(env: dict[str, str], *argv: str) -> dict[str, Any]:
    """A non-blocking invoke's record, once it is recorded (404 until then)."""
    deadline = time.monotonic() + 60
    while True:
        done = edgewhisk(env, *argv)
        if done.returncode == 0:
            return json.loads(done.stdout)  # type: ignore[no-any-return]
        assert "HTTP 404" in done.stderr and time.monotonic() < deadline, done.stderr
        time.sleep(0.2)


def test_wsk_flags_set_parameters_annotations_and_limits(env: dict[str, str],
                                                         tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"name": "file", "n": 1}))
    notes = tmp_path / "notes.json"
    notes.write_text(json.dumps({"owner": "ops"}))
    ok(env, "action", "create", "flags", write(tmp_path, "flags.py", HELLO), "-P", params,
       "-p", "n", "2", "-p", "tags", '["a","b"]', "-a", "team", "edge", "-A", notes,
       "-t", "5000", "-m", "128", "-l", "1", "--concurrency", "2", "--main", "main")
    stored = json.loads(ok(env, "action", "get", "flags"))
    assert stored["parameters"] == [{"key": "name", "value": "file"}, {"key": "n", "value": 2},
                                    {"key": "tags", "value": ["a", "b"]}]
    annotations = {a["key"]: a["value"] for a in stored["annotations"]}
    assert (annotations["team"], annotations["owner"]) == ("edge", "ops")
    assert "edgewhisk" in annotations
    assert stored["limits"] == {"timeout": 5000, "memory": 128, "logs": 1, "concurrency": 2}

    assert ok(env, "action", "update", "flags", "-m", "256") == "ok: updated action flags\n"
    updated = json.loads(ok(env, "action", "get", "flags"))
    assert updated["limits"]["memory"] == 256 and updated["limits"]["timeout"] == 5000
    assert updated["exec"] == stored["exec"] and updated["parameters"] == stored["parameters"]
    assert updated["version"] == "0.0.2"
    result = json.loads(ok(env, "action", "invoke", "flags", "-r", "-p", "n", "3"))
    assert result["args"] == {"name": "file", "n": 3, "tags": ["a", "b"]}


def test_a_blocking_invoke_prints_the_record_and_a_failure_exits_1(env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    ok(env, "action", "create", "fails", write(tmp_path, "fails.py", FAILING))
    done = edgewhisk(env, "action", "invoke", "fails", "--blocking", "-p", "what", "way")
    assert done.returncode == 1, done.stderr
    head, record = done.stdout.split("\n", 1)
    assert head.startswith("ok: invoked /_/fails with id ")
    assert json.loads(record)["response"]["result"] == {"error": "no way"}
    only = edgewhisk(env, "action", "invoke", "fails", "-r")
    assert (only.returncode, json.loads(only.stdout)) == (1, {"error": "no luck"})


def test_docker_makes_a_blackbox_action_which_the_process_backend_refuses(
        env: dict[str, str], tmp_path: Path) -> None:
    image = "localhost/edgewhisk/python3-ai:latest"
    ok(env, "action", "create", "boxed", write(tmp_path, "boxed.py", HELLO), "--docker", image)
    stored = json.loads(ok(env, "action", "get", "boxed"))
    assert (stored["exec"]["kind"], stored["exec"]["image"]) == ("blackbox", image)
    done = edgewhisk(env, "action", "invoke", "boxed", "-r")
    assert done.returncode == 1
    assert "without kind 'blackbox'" in done.stdout, done.stdout


def test_a_node_file_is_a_nodejs_action(env: dict[str, str], tmp_path: Path) -> None:
    script = write(tmp_path, "hi.js", "function main(p) { return {hi: p.who || 'node'}; }\n")
    ok(env, "action", "create", "hi-js", script)
    assert json.loads(ok(env, "action", "get", "hi-js"))["exec"]["kind"] == "nodejs:default"
    assert json.loads(ok(env, "action", "invoke", "hi-js", "-r", "-p", "who", "js")) == \
        {"hi": "js"}


def test_list_and_delete(env: dict[str, str], tmp_path: Path) -> None:
    ok(env, "action", "create", "listed", write(tmp_path, "listed.py", FAILING))
    table = ok(env, "action", "list").splitlines()
    assert table[0].split() == ["ACTION", "VERSION", "KIND", "ACCESS", "UPDATED"]
    assert any(line.split()[:4] == ["/guest/listed", "0.0.1", "python:3", "private"]
               for line in table[1:])
    names = [a["name"] for a in json.loads(ok(env, "action", "list", "--json"))]
    assert "listed" in names
    assert ok(env, "action", "delete", "listed") == "ok: deleted action listed\n"
    assert "listed" not in [a["name"] for a in json.loads(ok(env, "action", "list", "--json"))]


REFUSALS = [
    ("creating an existing action is a 409", ["action", "create", "taken", "{hello}"], 1,
     "already exists"),
    ("a time limit out of range is refused before sending", ["action", "create", "x", "{hello}",
                                                             "-t", "50"], 2,
     "timeout must be an integer from 100 to 300000"),
    ("a parameter file that is not JSON", ["action", "create", "x", "{hello}", "-P", "{text}"],
     2, "not JSON"),
    ("a parameter file that is not an object", ["action", "invoke", "taken", "-P", "{array}"],
     2, "must hold a JSON object"),
    ("a file whose kind cannot be told", ["action", "create", "x", "{text}"], 2,
     "cannot tell the kind"),
    ("an action without code", ["action", "create", "x", "--kind", "python:3"], 2,
     "needs its code"),
    ("an unknown action", ["action", "invoke", "nothing-here"], 1, "HTTP 404"),
    ("an update that changes code without a file", ["action", "update", "taken", "--main", "f"],
     2, "give FILE too"),
    ("an activation named twice", ["activation", "get", "abc", "--last"], 2,
     "give ID or --last"),
    ("an unknown activation", ["activation", "logs", "0123456789abcdef"], 1, "HTTP 404"),
    ("a wrong key", ["action", "list", "--auth", "nobody:wrong"], 1, "HTTP 401"),
    ("an admin call with a namespace key", ["namespace", "create", "x"], 1, "HTTP 403"),
]


@pytest.mark.parametrize(("argv", "code", "words"),
                         [pytest.param(a, c, w, id=i) for i, a, c, w in REFUSALS])
def test_refusals_are_one_line_and_change_nothing(env: dict[str, str], tmp_path: Path,
                                                  argv: list[str], code: int, words: str) -> None:
    files = {"hello": write(tmp_path, "hello.py", HELLO), "text": tmp_path / "text.txt",
             "array": tmp_path / "array.json"}
    files["text"].write_text("not json")
    files["array"].write_text("[1, 2]")
    if not edgewhisk(env, "action", "get", "taken").returncode == 0:
        ok(env, "action", "create", "taken", files["hello"])
    before = ok(env, "action", "list", "--json"), ok(env, "action", "get", "taken")
    done = edgewhisk(env, *[a.format(**files) for a in argv])
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith(f"edgewhisk {argv[0]} {argv[1]}: error: "), done.stderr
    assert words in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert (ok(env, "action", "list", "--json"), ok(env, "action", "get", "taken")) == before


def test_poll_prints_the_logs_of_new_activations(env: dict[str, str], tmp_path: Path) -> None:
    ok(env, "action", "create", "polled", write(tmp_path, "polled.py", HELLO))
    poll = subprocess.Popen([str(EDGEWHISK), "activation", "poll", "polled", "--exit", "8",
                             "--interval", "0.2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        ok(env, "action", "invoke", "polled", "-r", "-p", "name", "poller")
        out, err = poll.communicate(timeout=60)
    finally:
        if poll.poll() is None:
            poll.kill()
            poll.wait()
    assert poll.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Activation: 'polled' (") and lines[0].endswith(") success")
    assert lines[1].endswith("stdout: greeting poller")
    assert len(lines) == 2, "each activation once"


def test_namespace_commands_through_an_admin_key(controller: Controller, env: dict[str, str],
                                                 data: Path) -> None:
    admin_key = create_namespace(["--data", str(data), "--admin"], "cli-ops")
    as_admin = ("--auth", admin_key)
    key = ok(env, "namespace", "create", "cli-team", *as_admin).strip()
    team = {**env, "WSK_CONFIG_FILE": ""}
    team_flags = ("--apihost", controller.api_host, "--auth", key)
    assert ok(team, "namespace", "list", *team_flags) == "cli-team\n"
    listed = ok(env, "namespace", "list", "--all", *as_admin).splitlines()
    assert listed[0].split() == ["NAMESPACE", "KEY", "UUID", "ADMIN"]
    assert any(line.split()[0::2] == ["cli-team", "no"] for line in listed[1:])
    new_key = ok(team, "namespace", "rotate-key", *team_flags).strip()
    stale = edgewhisk(team, "namespace", "list", *team_flags)
    assert stale.returncode == 1 and "HTTP 401" in stale.stderr
    assert ok(env, "namespace", "delete", "cli-team", *as_admin) == \
        "ok: deleted namespace cli-team (0 activation records)\n"
    gone = edgewhisk(team, "namespace", "list", "--apihost", controller.api_host, "--auth",
                     new_key)
    assert gone.returncode == 1 and "HTTP 401" in gone.stderr


def test_an_unreachable_controller_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {**os.environ, "WSK_CONFIG_FILE": str(tmp_path / "none")}
    done = edgewhisk(env, "action", "list", "--apihost", "http://127.0.0.1:9", "--auth", "a:b")
    assert done.returncode == 1
    assert done.stderr == ("edgewhisk action list: error: cannot reach the controller at "
                           "http://127.0.0.1:9: Connection refused\n")
    assert done.stdout == ""


def test_a_closed_pipe_ends_quietly(env: dict[str, str], tmp_path: Path) -> None:
    """``edgewhisk action list | head -1`` where head has gone: no traceback, status 1."""
    ok(env, "action", "create", "piped", write(tmp_path, "piped.py", FAILING))
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before anything is written
    try:
        done = subprocess.run([str(EDGEWHISK), "action", "list"], env=env, stdout=writer,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (1, "")


WAITS = """
    from edgewhisk import policy

    @policy.context(network="home_u1", strict=True)
    @policy.wait("1h")
    def main(args):
        return {"ran": True}
"""


def test_pending_activations_are_listed_with_what_they_wait_for_and_cancelled(
        env: dict[str, str], tmp_path: Path) -> None:
    """No invoker of this controller is in ``home_u1``: the activation waits (``policy.wait``),
    ``activation list --pending`` says for what, ``activation cancel`` ends it."""
    ok(env, "action", "create", "waits", write(tmp_path, "waits.py", WAITS))
    answer = ok(env, "action", "invoke", "waits")
    activation_id = answer.split()[-1]
    deadline = time.monotonic() + 30
    while activation_id not in (listed := ok(env, "activation", "list", "--pending")):
        assert time.monotonic() < deadline, listed
        time.sleep(0.1)
    rows = listed.splitlines()
    assert rows[0].split() == ["ACTIVATION", "NAME", "SINCE", "EXPIRES", "WAITING", "FOR"]
    assert rows[1].split()[:2] == [activation_id, "guest/waits"]
    assert rows[1].endswith("  not in network home_u1")
    as_json = json.loads(ok(env, "activation", "list", "--pending", "--json"))
    assert [(p["activationId"], p["waiting_for"]) for p in as_json] == [
        (activation_id, ["not in network home_u1"])]
    assert as_json[0]["until"] - as_json[0]["since"] == 3_600_000

    cancelled = ok(env, "activation", "cancel", activation_id)
    assert cancelled.startswith(f"{activation_id}: The activation was cancelled while it "
                                "waited for an invoker")
    assert ok(env, "activation", "list", "--pending").splitlines()[1:] == []
    record = json.loads(ok(env, "activation", "get", activation_id))
    assert record["response"]["success"] is False
    assert "cancelled" in record["response"]["result"]["error"]

    again = edgewhisk(env, "activation", "cancel", activation_id)
    assert again.returncode == 1 and "not pending" in again.stderr
    named = edgewhisk(env, "activation", "list", "waits", "--pending")
    assert named.returncode == 2 and "leave out NAME" in named.stderr
