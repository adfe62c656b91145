"""The tunnel's message schema: every message survives encode/decode; every malformed frame is
a ProtocolError whose reason names what is wrong (and says how to close)."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from edgewhisk_tunnel import (
    ARTIFACT_CHUNK_BYTES,
    MAX_FRAME_BYTES,
    MESSAGES,
    AgentLog,
    AgentLogs,
    ArtifactAbort,
    ArtifactGet,
    ArtifactOffer,
    ArtifactPut,
    CloseCode,
    CodeMissing,
    Consumed,
    Context,
    Drain,
    Error,
    FrameTooLarge,
    Heartbeat,
    Logs,
    Message,
    MessageType,
    Metrics,
    OfflineAction,
    OfflineKeep,
    OfflineRecord,
    OfflineSynced,
    Outcome,
    Produce,
    Produced,
    ProtocolError,
    Register,
    Registered,
    Result,
    Run,
    RunSpec,
    decode,
    encode,
    to_dict,
)

SPEC = RunSpec(key="guest/echo@0.0.1#abc", kind="python:3", code="def main(a): return a",
               binary=False, main="main", image=None, env={"__OW_API_HOST": "https://c:1"},
               memory_mb=256, timeout_ms=60_000, concurrency=1)
OUTCOME = Outcome(status=200, response={"x": 1}, logs=("2026-11-27T09:00:00Z stdout: hi",),
                  init_failed=False, init_ms=12, duration_ms=3, container_id="c1")

MESSAGES_TABLE: list[tuple[str, Message]] = [
    ("a minimal register", Register(id="dev-1", memory_mb=512, kinds=("python:3",),
                                    agent_version="0.1")),
    ("a full register", Register(
        id="dev_1.a", memory_mb=2048, kinds=("python:3", "blackbox"), agent_version="0.1",
        namespace="guest", labels={"room": "kitchen"}, capabilities=("gpu",),
        networks=("home",), site="home", owner="u1", role="cloud", bandwidth_mbps=12.5,
        cached=("guest/model@1",), holding=("a1", "a2"))),
    ("registered", Registered(id="dev-1", heartbeat_s=1.0, offline_after_s=10.0)),
    ("a heartbeat", Heartbeat(seq=3, sent_ms=1000)),
    ("a heartbeat reply", Heartbeat(seq=3, sent_ms=1000).reply(1005)),
    ("a quiet heartbeat", Heartbeat(seq=4, sent_ms=2000, quiet=True)),
    ("an empty context", Context()),
    ("a full context", Context(battery=0.5, charging=True, networks=("home", "4g"),
                               cached=("guest/m@1",))),
    ("a run", Run(activation_id="a1", spec=SPEC, value={"x": [1, {"y": None}]},
                  fields={"activation_id": "a1", "namespace": "guest"})),
    ("a warm run without its code", Run(
        activation_id="a3", spec=dataclasses.replace(SPEC, code=None), value={}, fields={},
        code_omitted=True)),
    ("a run's code missing", CodeMissing(activation_id="a3", key=SPEC.key)),
    ("a registered of version 2", Registered(id="dev-1", heartbeat_s=1.0, offline_after_s=10.0,
                                             protocol=2)),
    ("a result naming what the device holds", Result(activation_id="a2", outcome=OUTCOME,
                                                     cached=("guest/m@1", "guest/n@2"))),
    ("a result with an outcome", Result(activation_id="a1", outcome=OUTCOME)),
    ("a result with an error", Result(activation_id="a1", error="backend down")),
    ("logs", Logs(activation_id="a1", lines=("one", "two"))),
    ("metrics", Metrics(free_memory_mb=100, in_flight=2, values={"cpu": 0.25})),
    ("an artifact request", ArtifactGet(transfer_id="t1", ref="u1/glucose", offset=10)),
    ("an artifact chunk", ArtifactPut(transfer_id="t1", ref="u1/glucose", offset=0, size=4,
                                      data=b"a\nb\x00", eof=True, sha256="00",
                                      format="bytes")),
    ("a run with artifacts", Run(
        activation_id="a2", spec=SPEC, value={}, fields={},
        consumes=(Consumed(name="base", kind="model", key="guest/glucose-base@3", sha256="ab" * 32,
                           size=1024, format="mxnet-gluon", locality="cloud"),),
        produces=(Produce(name="glucose-model", kind="model", ref="u1/glucose-model",
                          locality="local"),))),
    ("a result with a produced artifact", Result(activation_id="a2", outcome=dataclasses.replace(
        OUTCOME, produced=(Produced(name="glucose-model", kind="model", ref="u1/glucose-model",
                                    format="mxnet-gluon", size=10, sha256="cd" * 32,
                                    locality="local"),)))),
    ("an artifact offer", ArtifactOffer(transfer_id="t2", ref="guest/glucose-base@3", size=3,
                                        sha256="ab" * 32, format="bytes", kind="model",
                                        locality="cloud", purpose="preload")),
    ("an artifact abort", ArtifactAbort(transfer_id="t2", reason="store full")),
    ("drain", Drain(reason="battery low")),
    ("an error", Error(reason="nope", activation_id="a1")),
    ("an agent log stream opened", AgentLogs(stream_id="s1", after=41, tail=10, follow=True)),
    ("an agent log stream stopped", AgentLogs(stream_id="s1", stop=True)),
    ("agent log lines", AgentLog(stream_id="s1", first=42, lines=("INFO up", "WARN hot"))),
    ("the end of an agent log stream", AgentLog(stream_id="s1", first=0, lines=(), end=True)),
    ("an offline action", OfflineAction(
        name="guest/classify", version="0.0.2", spec=SPEC,
        annotation={"version": 1, "policies": [{"type": "offline"}]}, parameters={"k": 3})),
    ("the offline actions to keep", OfflineKeep(names=("guest/classify",))),
    ("an offline record", OfflineRecord(activation_id="0a" * 16, name="guest/classify",
                                        version="0.0.2", start_ms=1, end_ms=5, outcome=OUTCOME)),
    ("offline records synced", OfflineSynced(activation_ids=("0a" * 16,))),
]


def test_the_table_covers_every_message_type() -> None:
    assert {m.TYPE for _, m in MESSAGES_TABLE} == set(MessageType) == set(MESSAGES)


@pytest.mark.parametrize("message", [m for _, m in MESSAGES_TABLE],
                         ids=[name for name, _ in MESSAGES_TABLE])
def test_every_message_survives_a_round_trip(message: Message) -> None:
    frame = encode(message)
    if isinstance(message, ArtifactPut):  # a binary frame: a JSON header line, then the bytes
        assert isinstance(frame, bytes)
        header, _, data = frame.partition(b"\n")
        assert json.loads(header)["type"] == "artifact.put" and data == message.data
        assert decode(frame) == message
        return
    assert isinstance(frame, str)
    assert json.loads(frame)["type"] == str(message.TYPE)
    assert decode(frame) == message
    assert to_dict(decode(frame)) == json.loads(frame)


@pytest.mark.parametrize("frame, reason, code", [
    pytest.param(b'{"type":"drain","reason":"x"}', "JSON header line", CloseCode.UNSUPPORTED_DATA,
                 id="a binary frame without a header line"),
    pytest.param(b'{"type":"drain","reason":"x"}\n', "not drain", CloseCode.UNSUPPORTED_DATA,
                 id="a binary frame that is not a chunk"),
    pytest.param(b"\xff\xfe\n...", "not UTF-8", CloseCode.UNSUPPORTED_DATA,
                 id="a header that is not UTF-8"),
    pytest.param(b'{"type":"artifact.put","transfer_id":"t","ref":"r","offset":0,"size":1,'
                 b'"data":"QQ=="}\nA', "binary frame's payload", CloseCode.PROTOCOL_ERROR,
                 id="a header carrying data too"),
    pytest.param('{"type":"artifact.put","transfer_id":"t","ref":"r","offset":0,"size":0}',
                 "travels in a binary frame", CloseCode.PROTOCOL_ERROR,
                 id="a chunk in a text frame"),
    pytest.param(b'{"type":"artifact.put","transfer_id":"t","ref":"r","offset":0,"size":9}\n'
                 + b"x" * (ARTIFACT_CHUNK_BYTES + 1), "chunk exceeds", CloseCode.PROTOCOL_ERROR,
                 id="a chunk over the chunk size"),
])
def test_chunks_travel_only_as_well_formed_binary_frames(frame: str | bytes, reason: str,
                                                         code: CloseCode) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(frame)
    assert reason in caught.value.reason
    assert caught.value.close_code is code


def test_optional_fields_may_be_left_out_on_the_wire() -> None:
    text = '{"type":"register","id":"d","memory_mb":1,"kinds":[],"agent_version":"x"}'
    message = decode(text)
    assert isinstance(message, Register)
    assert (message.role, message.labels, message.holding, message.namespace) == \
        ("edge", {}, (), None)


def _frame(type_: str, **fields: Any) -> str:
    return json.dumps({"type": type_, **fields})


RUN = json.loads(encode(Run(activation_id="a1", spec=SPEC, value={}, fields={})))
RUN.pop("type")
BAD_SPEC = {**RUN, "spec": {**RUN["spec"], "memory_mb": "256"}}
NO_KIND = {**RUN, "spec": {k: v for k, v in RUN["spec"].items() if k != "kind"}}
REG = {"id": "d", "memory_mb": 1, "kinds": [], "agent_version": "x"}

MALFORMED: list[tuple[str, str | bytes, str]] = [
    ("not JSON", "{", "malformed JSON"),
    ("NaN is not JSON", '{"type":"context","battery":NaN}', "NaN is not a JSON number"),
    ("Infinity is not JSON", '{"type":"context","battery":-Infinity}',
     "-Infinity is not a JSON number"),
    ("a number beyond a double", '{"type":"context","battery":1e999}', "out of range"),
    ("an integer of 5,000 digits", '{"type":"heartbeat","seq":' + "9" * 5000 + ',"sent_ms":1}',
     "more than 309 digits"),
    ("a lone surrogate", '{"type":"drain","reason":"\\udfff"}', "lone surrogate"),
    ("nesting deeper than values may",
     '{"type":"drain","reason":"x","z":' + "[" * 200 + "]" * 200 + "}", "nested more than"),
    ("an array", "[]", "must be a JSON object, got list"),
    ("a string", '"register"', "must be a JSON object, got str"),
    ("no type", "{}", "needs a string field 'type'"),
    ("a numeric type", '{"type": 3}', "needs a string field 'type'"),
    ("an unknown type", _frame("launch"), "unknown message type 'launch'"),
    ("a missing field", _frame("heartbeat", seq=1), "heartbeat: missing field 'sent_ms'"),
    ("an extra field", _frame("heartbeat", seq=1, sent_ms=2, x=3),
     "heartbeat: unexpected field 'x'"),
    ("a boolean for an integer", _frame("heartbeat", seq=True, sent_ms=2),
     "heartbeat.seq must be an integer, got bool"),
    ("a float for an integer", _frame("heartbeat", seq=1.5, sent_ms=2),
     "heartbeat.seq must be an integer, got float"),
    ("a negative sequence number", _frame("heartbeat", seq=-1, sent_ms=2),
     "heartbeat.seq must not be negative"),
    ("a string for a number", _frame("context", battery="full"),
     "context.battery must be a number, got str"),
    ("a battery above 1", _frame("context", battery=1.5), "context.battery must be within 0..1"),
    ("a string for a list", _frame("context", networks="home"),
     "context.networks must be an array, got str"),
    ("a number in a string list", _frame("context", networks=["home", 4]),
     "context.networks[1] must be a string, got int"),
    ("a list for a mapping", _frame("register", **{**REG, "labels": ["a"]}),
     "register.labels must be an object, got list"),
    ("a number as a label value", _frame("register", **{**REG, "labels": {"a": 1}}),
     "register.labels.a must be a string, got int"),
    ("an invalid invoker id", _frame("register", **{**REG, "id": "../x"}),
     "register.id must match"),
    ("an unknown role", _frame("register", **{**REG, "role": "boss"}), "register.role must be"),
    ("another protocol version", _frame("register", **{**REG, "protocol": 3}),
     "register.protocol 3 is not supported (need one of 1, 2)"),
    ("a quiet reply", _frame("heartbeat", seq=1, sent_ms=2, echo_ms=1, quiet=True),
     "heartbeat.quiet is for a heartbeat, not a reply"),
    ("a registered of an unknown version",
     _frame("registered", id="d", heartbeat_s=1, offline_after_s=2, protocol=3),
     "registered.protocol 3 is not supported"),
    ("a run omitting code it carries", _frame("run", **{**RUN, "code_omitted": True}),
     "run.code_omitted needs spec.code null"),
    ("a code.missing of a bad activation id", _frame("code.missing", activation_id="", key="k"),
     "code.missing.activation_id must match"),
    ("a code.missing without its key", _frame("code.missing", activation_id="a1"),
     "code.missing: missing field 'key'"),
    ("a result's holdings that are not a list",
     _frame("result", activation_id="a1", error="x", cached="guest/m@1"),
     "result.cached must be an array"),
    ("a wrongly typed nested field", _frame("run", **BAD_SPEC),
     "run.spec.memory_mb must be an integer, got str"),
    ("a missing nested field", _frame("run", **NO_KIND), "run.spec: missing field 'kind'"),
    ("a nested object that is null", _frame("run", **{**RUN, "spec": None}),
     "run.spec must be an object, got null"),
    ("params that are not an object", _frame("run", **{**RUN, "value": [1]}),
     "run.value must be an object, got list"),
    ("an empty activation id", _frame("logs", activation_id="", lines=[]),
     "logs.activation_id must match"),
    ("an invoker id ending in a newline", _frame("register", **{**REG, "id": "pi\n"}),
     "register.id must match"),
    ("a result with neither outcome nor error", _frame("result", activation_id="a1"),
     "result needs exactly one of outcome and error"),
    ("a result with both", _frame("result", activation_id="a1", error="x",
                                  outcome=to_dict(Result("a1", outcome=OUTCOME))["outcome"]),
     "result needs exactly one of outcome and error"),
    ("registered with a heartbeat slower than the timeout",
     _frame("registered", id="d", heartbeat_s=10, offline_after_s=5), "0 < heartbeat_s"),
    ("a null for a required string", _frame("drain", reason=None),
     "drain.reason must be a string, got null"),
    ("an agent log stream opened before the first line",
     _frame("agent.logs", stream_id="s1", after=-2), "agent.logs needs after >= -1"),
    ("agent log lines past the frame's limit",
     _frame("agent.log", stream_id="s1", first=0, lines=["x"] * 201),
     "agent.log carries at most 200 lines"),
]


@pytest.mark.parametrize(("frame", "reason"), [(f, r) for _, f, r in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_a_malformed_frame_is_a_protocol_error_with_its_reason(frame: str | bytes,
                                                                reason: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(frame)
    assert reason in caught.value.reason
    assert caught.value.close_code is CloseCode.PROTOCOL_ERROR


def test_an_oversized_frame_is_refused_before_parsing() -> None:
    frame = _frame("drain", reason="x" * MAX_FRAME_BYTES)
    with pytest.raises(FrameTooLarge) as caught:
        decode(frame)
    assert caught.value.close_code is CloseCode.MESSAGE_TOO_BIG
    assert f"exceeds the {MAX_FRAME_BYTES}-byte limit" in caught.value.reason


def test_a_message_too_large_for_a_frame_cannot_be_encoded() -> None:
    with pytest.raises(FrameTooLarge):
        encode(Drain(reason="x" * MAX_FRAME_BYTES))


def test_a_frame_at_the_limit_is_accepted() -> None:
    envelope = len(encode(Drain(reason="")))
    frame = encode(Drain(reason="x" * (MAX_FRAME_BYTES - envelope)))
    assert len(frame.encode()) == MAX_FRAME_BYTES
    assert isinstance(decode(frame), Drain)


def test_constructing_an_invalid_message_in_code_fails_the_same_way() -> None:
    with pytest.raises(ProtocolError, match="exactly one of outcome and error"):
        Result(activation_id="a1")


OURS = {"edgewhisk", "edgewhisk_cli", "edgewhisk_runtime", "edgewhisk_controller",
        "edgewhisk_invoker"}


def test_the_schema_package_imports_nothing_of_ours() -> None:
    import edgewhisk_tunnel

    folder = Path(edgewhisk_tunnel.__file__).parent
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            assert {n.split(".")[0] for n in names} & OURS == set(), path
