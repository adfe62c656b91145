"""The runtime contract's conformance cases (docs/openwhisk-contract.md, section 1), checked as
upstream.

Every case of the contract's list is one row; its id is the sentence it checks. A row is a
sequence of /init and /run calls with the expected status and body, then a check of the two
log streams with their sentinels removed (upstream's ``checkStreams``): by default exactly one
sentinel per stream. Each row runs on a fresh process and a fresh container.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from . import client
from .actions import ECHO, src, virtualenv_zip, zip_b64
from .targets import TargetFactory

Check = Callable[[str, str], bool]


@dataclass
class Call:
    endpoint: str  # "init" | "run"
    value: Any = None
    status: int | Callable[[int], bool] = 200
    body: Any = None  # expected body, or a predicate on it; None: not checked
    fields: dict[str, Any] = field(default_factory=dict)
    raw: Any = None  # an /init document sent as it is


def Init(value: dict[str, Any] | None = None, **kw: Any) -> Call:  # noqa: N802
    return Call("init", value, **kw)


def Run(value: Any = None, **kw: Any) -> Call:  # noqa: N802
    return Call("run", value, **kw)


def not_200(status: int) -> bool:
    return status != 200


def empty(o: str, e: str) -> bool:
    return o == "" and e == ""


def has_error(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"] != ""


@dataclass
class Case:
    id: str
    calls: list[Call]
    streams: Check = empty
    sentinels: int = 1
    env: dict[str, str] = field(default_factory=dict)


ECHO_PRINTING = src("""
    import sys
    def main(args):
        print('hello stdout')
        print('hello stderr', file=sys.stderr)
        return args
""")
ECHO_ARGS = [{"string": "hello"}, {"string": "❄ ☃ ❄"}, {"numbers": [42, 1]},
             {"object": {"a": "A"}}]
OW_PROPS = {"api_key": "abc", "namespace": "zzz", "action_name": "xxx",
            "action_version": "0.0.1", "activation_id": "iii", "deadline": "123"}
ENV_ACTION = src("""
    import os
    def main(args):
        keys = ["api_host", "api_key", "namespace", "action_name", "action_version",
                "activation_id", "deadline"]
        return {k: os.environ["__OW_" + k.upper()] for k in keys}
""")
MISSING = {"error": "Missing main/no code to execute."}
NOT_JSON = {"error": "The action did not return a dictionary or array."}
TWICE = "Cannot initialize the action more than once."

CASES = [
    Case("init with no code is refused with the upstream message",
         [Init({"code": "", "main": ""}, status=403, body=MISSING)], sentinels=0),
    Case("init with an empty document {} is refused with the upstream message",
         [Init(raw={}, status=403, body=MISSING)], sentinels=0),
    Case("an action not returning a dictionary or array answers 502",
         [Init({"code": src("def main(args):\n    return 'not a json object'")}),
          Run({}, status=502, body=NOT_JSON)]),
    Case("a second init is refused with 403 and the message goes to the logs",
         [Init({"code": ECHO}), Init({"code": ECHO}, status=403, body={"error": TWICE})],
         streams=lambda o, e: TWICE in o + e, sentinels=0),
    Case("a non-standard entry point niam is invoked",
         [Init({"code": src("def niam(args):\n    return args"), "main": "niam"}),
          Run({"string": "hello"}, body={"string": "hello"})]),
    Case("arguments are echoed while printing to stdout and stderr, one sentinel per activation",
         [Init({"code": ECHO_PRINTING})] + [Run(args, body=args) for args in ECHO_ARGS],
         streams=lambda o, e: o.count("hello stdout") == 4 and e.count("hello stderr") == 4,
         sentinels=len(ECHO_ARGS)),
    Case("unicode survives the source, the arguments, the logs and the result",
         [Init({"code": src("""
            def main(args):
                sep = args['delimiter']
                s = sep + " ☃ " + sep
                print(s)
                return {"winter": s}
            """)}),
          Run({"delimiter": "❄"}, body={"winter": "❄ ☃ ❄"})],
         streams=lambda o, e: "❄ ☃ ❄" in o and e == ""),
    Case("the init env is exported before the action is imported",
         [Init({"code": src("""
            import os
            somevar = os.environ['SOME_VAR']
            another = os.environ['ANOTHER_VAR']
            print(os.getenv('X'))
            def main(args):
                return {"SOME_VAR": somevar, "ANOTHER_VAR": another}
            """), "env": {"SOME_VAR": "xyz", "ANOTHER_VAR": "", "X": "import-time"}}),
          Run({}, body={"SOME_VAR": "xyz", "ANOTHER_VAR": ""})],
         streams=lambda o, e: o == "import-time" and e == ""),
    Case("init env values that are not strings are exported as JSON",
         [Init({"code": src("""
            import os
            def main(args):
                return {k: os.environ[k] for k in ["ARRAY", "OBJECT", "NUMBER", "BOOL", "NULL"]}
            """), "env": {"ARRAY": ["a", "b"], "OBJECT": {"a": "A"}, "NUMBER": 3,
                          "BOOL": True, "NULL": None}}),
          Run({}, body={"ARRAY": '["a", "b"]', "OBJECT": '{"a": "A"}', "NUMBER": "3",
                        "BOOL": "true", "NULL": ""})]),
    Case("all seven __OW_ variables are visible to the action",
         [Init({"code": ENV_ACTION}),
          Run({}, fields=OW_PROPS, body={"api_host": "xyz", **OW_PROPS})],
         env={"__OW_API_HOST": "xyz"}),
    Case("a string of 1,048,561 characters is echoed back",
         [Init({"code": ECHO}),
          Run({"arg": "a" * 1048561}, body={"arg": "a" * 1048561})]),
    Case("a zip with __main__.py and a helper module runs with a non-standard entry point",
         [Init({"code": zip_b64({
             "__main__.py": src("""
                from echo import echo
                def niam(args):
                    return echo(args)
                """),
             "echo.py": src("def echo(args):\n    return {'echo': args}")}),
             "binary": True, "main": "niam"}),
          Run({"msg": "it works"}, body={"echo": {"msg": "it works"}})]),
    Case("a zip action reads a relative data file (cwd is the action folder)",
         [Init({"code": zip_b64({
             "__main__.py": src("""
                def main(args):
                    with open('workfile', 'r') as f:
                        return {'file': f.read()}
                """),
             "workfile": "this is a test string"}), "binary": True}),
          Run({}, body={"file": "this is a test string"})]),
    Case("a zip without __main__.py fails init with 502",
         [Init({"code": zip_b64({"echo.py": src("def echo(args):\n    return args")}),
                "binary": True, "main": "echo"}, status=502, body=has_error)],
         streams=lambda o, e: o == "" and "Zip file does not include" in e),
    Case("an exception in the action answers 200 with error and a traceback on stderr",
         [Init({"code": src("""
            def div(x, y):
                return x / y
            def main(args):
                return {"divBy0": div(5, 0)}
            """)}),
          Run({}, body=lambda b: "division by zero" in b["error"])],
         streams=lambda o, e: o == "" and "Traceback" in e),
    Case("an error result {'error': 'sorry'} is returned as it is with 200",
         [Init({"code": src("def main(args):\n    return {'error': 'sorry'}")}),
          Run({}, body={"error": "sorry"})]),
    Case("importing a missing module fails init with 502 and a traceback on stderr",
         [Init({"code": src("""
            import iamnotsupported
            def main(args):
                return {"error": "not reaching here"}
            """)}, status=502, body=has_error)],
         streams=lambda o, e: o == "" and "Traceback" in e),
    Case("code that does not compile fails init with 502 and a traceback on stderr",
         [Init({"code": ' 10 PRINT "Hello!"\n 20 GOTO 10\n'}, status=502, body=has_error)],
         streams=lambda o, e: o == "" and "Traceback" in e),
    Case("an entry point that the action does not define fails init with 502",
         [Init({"code": ECHO, "main": "nosuchmain"}, status=502, body=has_error)],
         streams=lambda o, e: o == "" and "nosuchmain" in e),
    Case("an array is returned as the result",
         [Init({"code": src("def main(args):\n    return ['a', 'b']")}),
          Run({}, body=["a", "b"])]),
    Case("an array is accepted as the argument and echoed",
         [Init({"code": ECHO}), Run(["a", "b"], body=["a", "b"])]),
    Case("a zip with a virtualenv activates it before importing the action",
         [Init({"code": virtualenv_zip(), "binary": True}),
          Run({}, body={"agent": "edgewhisk-test-agent", "prefix_is_venv": True})]),
    Case("a zip with a virtualenv runs a non-standard entry point",
         [Init({"code": virtualenv_zip("naim"), "binary": True, "main": "naim"}),
          Run({}, body=lambda b: b["agent"] == "edgewhisk-test-agent")]),
    Case("a zip with an invalid virtualenv fails init with 502",
         [Init({"code": virtualenv_zip(with_activate=False), "binary": True},
               status=502, body=lambda b: "Invalid virtualenv" in b["error"])],
         streams=lambda o, e: o == "" and "Invalid virtualenv" in e),
    Case("the action process exiting at init fails init with 502",
         [Init({"code": src("""
            import sys
            sys.exit(1)
            def main(args):
                pass
            """)}, status=502,
               body=lambda b: "Cannot start action" in b["error"] and "exited" in b["error"])],
         streams=lambda o, e: o == "" and "Command exited abruptly during initialization." in e),
    Case("the action process exiting at run answers 400 command exited",
         [Init({"code": src("""
            import sys
            def main(args):
                sys.exit(1)
            """)}),
          Run({}, status=400, body=lambda b: "command exited" in b["error"])]),
    Case("sys.executable is a python interpreter",
         [Init({"code": src("import sys\ndef main(args):\n    return {'sys': sys.executable}")}),
          Run({}, body=lambda b: "python" in b["sys"])]),
]


def _call(url: str, call: Call) -> tuple[int, Any]:
    if call.endpoint == "init":
        return client.init(url, call.value, raw=call.raw)
    return client.run(url, call.value, **call.fields)


def _ok(expected: Any, actual: Any) -> bool:
    return expected(actual) if callable(expected) else expected == actual


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_conformance(case: Case, runtime_factory: TargetFactory) -> None:
    target = runtime_factory(case.env)
    for i, call in enumerate(case.calls):
        status, body = _call(target.url, call)
        shown = body if len(str(body)) < 300 else str(body)[:300] + "..."
        assert _ok(call.status, status), f"call {i} ({call.endpoint}): status {status}, {shown}"
        if call.body is not None:
            assert _ok(call.body, body), f"call {i} ({call.endpoint}): body {shown}"

    def settled(out: str, err: str) -> bool:
        return (client.sentinels(out) == case.sentinels == client.sentinels(err)
                and case.streams(client.filtered(out), client.filtered(err)))

    out, err = client.settled_logs(target, settled)
    assert client.sentinels(out) == case.sentinels, out
    assert client.sentinels(err) == case.sentinels, err
    assert case.streams(client.filtered(out), client.filtered(err)), (out, err)
