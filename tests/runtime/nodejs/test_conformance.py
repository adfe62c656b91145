"""The runtime contract's conformance cases (docs/openwhisk-contract.md, section 1), for Node.js
actions.

Every row's id is the sentence it checks. A row is a sequence of /init and /run calls with the
expected status and body, then a check of the two log streams with their sentinels removed
(upstream's ``checkStreams``): by default exactly one sentinel per stream. Statuses and
messages are the Python runtime's; how JavaScript code is loaded and how its results and
errors look follows upstream apache/openwhisk-runtime-nodejs. Each row runs on a fresh proxy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from textwrap import dedent
from typing import Any

import pytest

from .. import client
from .conftest import ProxyFactory

Check = Callable[[str, str], bool]

ECHO = """
function main(args) {
  console.log(JSON.stringify(args))
  console.error(JSON.stringify(args))
  return args
}
"""
OW_KEYS = ["api_key", "namespace", "action_name", "action_version", "activation_id",
           "transaction_id", "deadline"]
OW_FIELDS = {key: f"the {key}" for key in OW_KEYS} | {"deadline": "123"}
BIG = "x" * 1_048_561
NOT_A_DICT = {"error": "The action did not return a dictionary or array."}


def js(text: str) -> str:
    return dedent(text).strip() + "\n"


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


def empty(o: str, e: str) -> bool:
    return o == "" and e == ""


def echoed(value: Any) -> Check:
    import json

    line = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return lambda o, e: o == line and e == line


@dataclass
class Case:
    id: str
    calls: list[Call]
    streams: Check = empty
    sentinels: int = 1
    env: dict[str, str] = field(default_factory=dict)


def _echo_case(label: str, value: Any) -> Case:
    return Case(f"echo of {label} while printing it to stdout and stderr",
                [Init({"code": ECHO}), Run(value, body=value)], streams=echoed(value))


CASES = [
    Case("init with no code answers 403 missing code",
         [Init({}, status=403, body={"error": "Missing main/no code to execute."})],
         sentinels=0),
    Case("init with an empty document answers 403 missing code",
         [Init(raw={}, status=403, body={"error": "Missing main/no code to execute."})],
         sentinels=0),
    Case("a second init is refused with 403 and logged",
         [Init({"code": ECHO}),
          Init({"code": ECHO}, status=403,
               body={"error": "Cannot initialize the action more than once."})],
         streams=lambda o, e: o == "" and "Cannot initialize the action more than once." in e,
         sentinels=0),
    Case("run before init answers an error, not a crash",
         [Run({}, status=500, body={"error": "no action defined yet"}),
          Init({"code": ECHO}), Run({"ok": 1}, body={"ok": 1})],
         streams=lambda o, e: o == e == '{"ok":1}', sentinels=2),
    _echo_case("ASCII", {"hello": "world"}),
    _echo_case("snowmen", {"winter": "❄ ☃ ❄"}),
    _echo_case("a list of numbers", {"numbers": [1, 2, 3.5, -4]}),
    _echo_case("a nested object", {"a": {"b": {"c": [True, None, "d"]}}}),
    Case("unicode round-trips through arguments and results",
         [Init({"code": js("""
            function main(args) {
              const str = args.delimiter + ' ☃ ' + args.delimiter
              console.log(str)
              return { winter: str }
            }""")}),
          Run({"delimiter": "❄"}, body={"winter": "❄ ☃ ❄"})],
         streams=lambda o, e: o == "❄ ☃ ❄" and e == ""),
    Case("a non-standard entry point is honoured",
         [Init({"code": "function niam(args) { return { niam: true } }", "main": "niam"}),
          Run({}, body={"niam": True})]),
    Case("a missing entry point fails init with 502",
         [Init({"code": "function main(args) { return {} }", "main": "niam"}, status=502,
               body=lambda b: "Action entrypoint 'niam' is not a function." in b["error"])],
         streams=lambda o, e: o == "" and "niam" in e),
    Case("module.exports.main is an entry point",
         [Init({"code": "module.exports.main = args => ({ exported: args.x })"}),
          Run({"x": 1}, body={"exported": 1})]),
    Case("exports.main is an entry point",
         [Init({"code": "exports.main = function (args) { return { via: 'exports' } }"}),
          Run({}, body={"via": "exports"})]),
    Case("a top-level const main holding an async function is awaited",
         [Init({"code": js("""
            const main = async args => {
              await new Promise(resolve => setTimeout(resolve, 10))
              return { later: args.v }
            }""")}),
          Run({"v": "done"}, body={"later": "done"})]),
    Case("a returned promise is awaited",
         [Init({"code": js("""
            function main(args) {
              return new Promise(resolve => setTimeout(() => resolve({ resolved: true }), 10))
            }""")}),
          Run({}, body={"resolved": True})]),
    Case("the init env is visible while the code is evaluated",
         [Init({"code": js("""
            const atLoad = process.env.SOME_VAR
            function main() { return { atLoad, atRun: process.env.ANOTHER_VAR } }"""),
               "env": {"SOME_VAR": "xyz", "ANOTHER_VAR": 42}}),
          Run({}, body={"atLoad": "xyz", "atRun": "42"})]),
    Case("all seven __OW_ variables of the run and __OW_API_HOST are visible to the action",
         [Init({"code": js("""
            function main() {
              const env = {}
              for (const key of Object.keys(process.env)) {
                if (key.startsWith('__OW_')) env[key] = process.env[key]
              }
              return env
            }""")}),
          Run({}, fields=OW_FIELDS,
              body={**{f"__OW_{k.upper()}": v for k, v in OW_FIELDS.items()},
                    "__OW_API_HOST": "http://127.0.0.1:3233"})]),
    Case("the __OW_ variables of one run do not leak into the next",
         [Init({"code": "function main() { return { key: process.env.__OW_API_KEY || null } }"}),
          Run({}, fields={"api_key": "secret"}, body={"key": "secret"}),
          Run({}, body={"key": None})], sentinels=2),
    Case("a 1,048,561-character string is echoed back",
         [Init({"code": "function main(args) { return args }"}),
          Run({"big": BIG}, body=lambda b: b == {"big": BIG})]),
    Case("an array in gives an array out",
         [Init({"code": "function main(args) { return args.map(x => x * 2) }"}),
          Run([1, 2, 3], body=[2, 4, 6])]),
    Case("a bare return is an empty result",
         [Init({"code": "function main() { return }"}), Run({}, body={})]),
    *[Case(f"an action returning {label} answers 502 not a dictionary",
           [Init({"code": f"function main() {{ return {value} }}"}),
            Run({}, status=502, body=NOT_A_DICT)],
           streams=lambda o, e: o == "" and "Result must be of type object" in e)
      for label, value in [("a number", "42"), ("a string", "'text'"), ("null", "null"),
                           ("a boolean", "true"), ("a promise of a string",
                                                   "Promise.resolve('late')")]],
    Case("a result that is not JSON answers 502 not a dictionary",
         [Init({"code": "function main() { const o = {}; o.self = o; return o }"}),
          Run({}, status=502, body=NOT_A_DICT)],
         streams=lambda o, e: o == "" and "not JSON" in e),
    Case("an error thrown before main returns answers 502 as upstream's service.js",
         [Init({"code": "function main() { throw new Error('sorry') }"}),
          Run({}, status=502, body={"error": "An error has occurred: Error: sorry"})],
         streams=lambda o, e: o == "" and "Error: sorry" in e and "index.js:1" in e),
    Case("a rejected promise answers 200 with the error's message",
         [Init({"code": "async function main() { throw new TypeError('nope') }"}),
          Run({}, body={"error": "nope"})],
         streams=lambda o, e: o == "" and "TypeError: nope" in e),
    Case("a promise rejected with a value answers 200 with that value as the error",
         [Init({"code": "function main() { return Promise.reject({ code: 42 }) }"}),
          Run({}, body={"error": {"code": 42}})],
         streams=lambda o, e: o == "" and "42" in e),
    Case("a promise rejected with nothing answers an empty error object",
         [Init({"code": "function main() { return Promise.reject() }"}),
          Run({}, body={"error": {}})],
         streams=lambda o, e: o == ""),
    Case("an action returning {error: sorry} gets it back as-is",
         [Init({"code": "function main() { return { error: 'sorry' } }"}),
          Run({}, body={"error": "sorry"})]),
    Case("the action keeps serving after an error",
         [Init({"code": "function main(a) { if (a.fail) throw new Error('x'); return a }"}),
          Run({"fail": True}, status=502, body={"error": "An error has occurred: Error: x"}),
          Run({"fine": 1}, body={"fine": 1})],
         streams=lambda o, e: o == "" and "Error: x" in e, sentinels=2),
    Case("requiring a missing module fails init with 502 and the reason on stderr",
         [Init({"code": "const x = require('edgewhisk-no-such-module')\nfunction main() {}"},
               status=502, body=lambda b: "Cannot find module" in b["error"])],
         streams=lambda o, e: o == "" and "edgewhisk-no-such-module" in e),
    Case("a syntax error fails init with 502",
         [Init({"code": "function main( {"}, status=502,
               body=lambda b: "SyntaxError" in b["error"])],
         streams=lambda o, e: o == "" and "SyntaxError" in e),
    Case("node built-ins can be required",
         [Init({"code": js("""
            const crypto = require('crypto')
            const path = require('node:path')
            function main(a) {
              return { sha: crypto.createHash('sha256').update(a.s).digest('hex').slice(0, 8),
                       base: path.basename('/x/y.js') }
            }""")}),
          Run({"s": "abc"}, body={"sha": "ba7816bf", "base": "y.js"})]),
    Case("the action process exiting at init fails init with 502",
         [Init({"code": "process.exit(1)\nfunction main() {}"}, status=502,
               body=lambda b: "Cannot start action" in b["error"] and "exited" in b["error"])],
         streams=lambda o, e: o == "" and "Command exited abruptly during initialization." in e),
    Case("the action process exiting at run answers 400 command exited",
         [Init({"code": "function main() { console.log('bye'); process.exit(3) }"}),
          Run({}, status=400, body={"error": "command exited (exit status 3)"}),
          Run({}, status=400, body=lambda b: "command exited" in b["error"])],
         streams=lambda o, e: o == "bye" and e == "", sentinels=2),
    Case("a malformed run body answers 400",
         [Init({"code": ECHO}),
          Call("run", raw=b"{not json", status=400,
               body=lambda b: b["error"].startswith("Error unmarshaling request"))]),
]


def _call(url: str, call: Call) -> tuple[int, Any]:
    if call.endpoint == "init":
        return client.init(url, call.value, raw=call.raw)
    if isinstance(call.raw, bytes):
        return client.post(url, "/run", call.raw)
    return client.run(url, call.value, **call.fields)


def _ok(expected: Any, actual: Any) -> bool:
    return expected(actual) if callable(expected) else expected == actual


def _settled(proxy: Any, ready: Callable[[str, str], bool]) -> tuple[str, str]:
    """The logs once ``ready`` holds (the action's writes are synchronous; this is a margin)."""
    for _ in range(50):
        out, err = proxy.stdout(), proxy.stderr()
        if ready(out, err):
            break
        time.sleep(0.02)
    return out, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_conformance(case: Case, node_proxy: ProxyFactory) -> None:
    proxy = node_proxy(case.env)
    for i, call in enumerate(case.calls):
        status, body = _call(proxy.url, call)
        shown = body if len(str(body)) < 300 else str(body)[:300] + "..."
        assert _ok(call.status, status), f"call {i} ({call.endpoint}): status {status}, {shown}"
        if call.body is not None:
            assert _ok(call.body, body), f"call {i} ({call.endpoint}): body {shown}"

    def settled(out: str, err: str) -> bool:
        return (client.sentinels(out) == case.sentinels == client.sentinels(err)
                and case.streams(client.filtered(out), client.filtered(err)))

    out, err = _settled(proxy, settled)
    assert client.sentinels(out) == case.sentinels, out
    assert client.sentinels(err) == case.sentinels, err
    assert case.streams(client.filtered(out), client.filtered(err)), (out, err)
