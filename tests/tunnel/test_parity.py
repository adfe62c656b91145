"""Every pair of wire/local twins keeps the same fields, and a value crosses the wire unchanged.

A twin pair is a value one side of the tunnel works with (the pool's ``ActionSpec``, the
agent's ``AgentConfig``, the placement engine's ``InvokerState``...) and the message value
that carries it (``RunSpec``, ``Register``...). The tunnel's schema imports nothing of ours,
so the conversions live on the two sides that may import both: the device's
``edgewhisk_invoker.frames`` and the controller's ``edgewhisk_controller.tunnel.twins``, one
function per pair and direction. Nothing but this file checks that the two halves agree:

- the field names correspond, except the documented ones each pair lists with the reason
  (``only_local``, ``only_wire``, ``retyped``), so adding a field to one twin and not the other
  fails a test naming the field, and so does an exception that no longer applies;
- the types correspond (tuples, lists and frozensets are all "many"; nested twins match);
- a value survives local -> wire -> encode -> decode -> local (hypothesis draws the values);
- the frames the conversions build are byte for byte those of the previous agent (golden
  frames), so an agent of the previous version still talks to the new controller.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from edgewhisk_controller.artifacts.keys import cached_name
from edgewhisk_controller.placement.interface import InvokerState
from edgewhisk_controller.tunnel import twins as controller
from edgewhisk_invoker import frames as device
from edgewhisk_invoker.config import AgentConfig
from edgewhisk_invoker.context import DeviceContext
from edgewhisk_runtime.artifacts import (
    ConsumeSpec,
    Entry,
    GateVerdict,
    ProducedArtifact,
    ProduceSpec,
)
from edgewhisk_runtime.containers import ActionSpec, RunOutcome
from edgewhisk_tunnel import (
    AGENT_LOGS_FEATURE,
    ArtifactOffer,
    Consumed,
    Context,
    Message,
    Metrics,
    Outcome,
    Produce,
    Produced,
    Register,
    Registered,
    Result,
    Run,
    RunSpec,
    Verdict,
    decode,
    encode,
)
from edgewhisk_tunnel.copies import by_name
from edgewhisk_tunnel.messages import ROLES
from edgewhisk_tunnel.transfers import TransferCounts
from hypothesis import given, settings
from hypothesis import strategies as st

CONNECTION = "a connection setting of the agent, not part of what it offers"


@dataclass(frozen=True)
class Twin:
    """A local type and its wire type; every difference between them is listed with why."""

    local: type[Any]
    wire: type[Any]
    only_local: Mapping[str, str] = field(default_factory=dict)
    only_wire: Mapping[str, str] = field(default_factory=dict)
    retyped: Mapping[str, str] = field(default_factory=dict)
    renamed: Mapping[str, str] = field(default_factory=dict)  # local name -> wire name
    reports: bool = False  # the wire reports some of the local columns (the rest need no list)

    def __str__(self) -> str:
        return f"{self.local.__name__}~{self.wire.__name__}"


TWINS = [
    Twin(ActionSpec, RunSpec),
    Twin(RunOutcome, Outcome),
    Twin(ProducedArtifact, Produced),
    Twin(GateVerdict, Verdict),
    Twin(ConsumeSpec, Consumed),  # no conversion: the wire's dataclass satisfies the Protocol
    Twin(ProduceSpec, Produce),   # idem
    Twin(AgentConfig, Register, only_local={
        "controller": "where the agent connects, not who it is",
        "controllers": "the controllers it may connect to, in turn",
        "token": "sent on the WebSocket handshake (Authorization), never in a frame",
        "ws_heartbeat_s": CONNECTION, "register_timeout_s": CONNECTION, "grace_s": CONNECTION,
        "backoff_base_s": CONNECTION, "backoff_cap_s": CONNECTION,
    }, only_wire={
        "kinds": "what the agent's container backend runs",
        "agent_version": "the agent's AGENT_VERSION",
        "networks": "the DeviceContext's, as the context monitor last reported it",
        "battery": "the DeviceContext's", "charging": "the DeviceContext's",
        "idle": "the DeviceContext's", "metered": "the DeviceContext's",
        "holding": "the activations the agent runs or holds results of",
    }),
    Twin(InvokerState, Register, only_local={
        "free_memory_mb": "from metrics, else the memory less what pending activations hold",
        "in_flight": "the controller's own count of the activations pending on the device",
        "healthy": "the controller's view of the connection (connected, not draining)",
        "namespaces": "the device token's namespace (a register's is checked against it)",
        "cpus": "a device does not report it: placement's default",
    }, only_wire={
        "agent_version": "shown by the status API",
        "holding": "which pending activations survived a reconnect (RemoteInvoker.attach)",
        "protocol": "checked by the schema",
        "namespace": "checked against the device token's, which becomes namespaces",
    }, retyped={
        "bandwidth_mbps": "None on the wire: twins.DEFAULT_BANDWIDTH_MBPS",
    }),
    Twin(DeviceContext, Context, only_wire={
        "cached": "the node store's keys, sent alone whenever the store changes",
    }, retyped={
        "networks": "None on the wire means unchanged; a device always knows its networks",
    }),
    Twin(InvokerState, Context, reports=True, retyped={
        "networks": "None on the wire means unchanged",
        "cached": "None on the wire means unchanged; registry keys become names (cached_name)",
    }),
    Twin(InvokerState, Metrics, reports=True, only_wire={
        "values": "free-form readings (rtt_ms, ...), not placement columns",
        "cold": "action keys the engine forgets as warm (forget_warm), not a column",
    }, retyped={
        "free_memory_mb": "None: not reported yet (the pending activations' memory counts)",
        "in_flight": "None: unknown; the controller counts its own (a report lags)",
    }),
    Twin(Entry, ArtifactOffer, renamed={"key": "ref"}, only_local={
        "pinned": "how this node store treats the entry (eviction)",
        "last_used": "this node store's eviction order",
    }, only_wire={
        "transfer_id": "names the transfer, not the artifact",
        "purpose": "why the bytes move (preload or upload)",
    }),
]
TWIN_OF = {cls: str(twin) for twin in TWINS for cls in (twin.local, twin.wire)
           if twin.local is not InvokerState}
"""Nested values compare as the twin they belong to (RunOutcome.produced ~ Outcome.produced)."""


def _hints(cls: type[Any]) -> dict[str, Any]:
    """The fields of a dataclass, or the read-only properties of a Protocol, with types."""
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return {name: typing.get_type_hints(member.fget)["return"]
            for name, member in vars(cls).items() if isinstance(member, property)}


def _local_names(twin: Twin) -> dict[str, str]:
    """Each local field under its wire name."""
    return {twin.renamed.get(name, name): name for name in _hints(twin.local)}


def _shape(hint: Any) -> Any:
    """A type with the differences the conversions bridge by design taken out."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return ("optional", *(_shape(a) for a in inner))
    if origin in (tuple, list, frozenset, set, Iterable):
        return ("many", _shape(args[0]))
    if origin in (dict, Mapping):
        return ("map", _shape(args[0]), _shape(args[1]))
    return TWIN_OF.get(hint, hint)


@pytest.mark.parametrize("twin", TWINS, ids=str)
def test_the_twins_have_the_same_fields(twin: Twin) -> None:
    local, wire = _local_names(twin), set(_hints(twin.wire))
    for name in sorted(set(wire) - set(local) - set(twin.only_wire)):
        pytest.fail(f"{twin.wire.__name__}.{name} has no twin in {twin.local.__name__}: add "
                    f"it there (and to both conversions) or list it in only_wire with why")
    if not twin.reports:
        for name in sorted(set(local) - wire - set(twin.only_local)):
            pytest.fail(f"{twin.local.__name__}.{local[name]} has no twin in "
                        f"{twin.wire.__name__}: add it there (and to both conversions) or list "
                        f"it in only_local with why")
    assert not set(twin.only_wire) - wire, "only_wire names a field the wire does not have"
    assert not set(twin.only_wire) & set(local), "only_wire names a field both twins have"
    assert not set(twin.only_local) - set(local), "only_local names no local field"
    assert not set(twin.only_local) & wire, "only_local names a field both twins have"


@pytest.mark.parametrize("twin", TWINS, ids=str)
def test_the_twins_fields_have_corresponding_types(twin: Twin) -> None:
    local_hints, wire_hints = _hints(twin.local), _hints(twin.wire)
    shared = {wire_name: local_name for wire_name, local_name in _local_names(twin).items()
              if wire_name in wire_hints}
    assert set(twin.retyped) <= set(shared), "retyped names a field the twins do not share"
    for wire_name, local_name in sorted(shared.items()):
        same = _shape(local_hints[local_name]) == _shape(wire_hints[wire_name])
        if wire_name in twin.retyped:
            assert not same, f"{twin}.{wire_name} is listed as retyped but no longer is"
        else:
            assert same, (f"{twin.local.__name__}.{local_name} is "
                          f"{local_hints[local_name]}, but {twin.wire.__name__}.{wire_name} is "
                          f"{wire_hints[wire_name]}")


def test_a_register_sets_the_columns_the_hub_sends_again() -> None:
    shared = set(_hints(Register)) & set(_hints(InvokerState))
    assert set(controller.REGISTER_COLUMNS) == shared - {"id"}


# ---- values crossing the wire ------------------------------------------------------------

def _over_the_wire(message: Message) -> Any:
    """``message`` as the other side decodes it (which is the same message)."""
    received = decode(encode(message))
    assert received == message
    return received


def _same(local: Any, wire: Any) -> bool:
    """Whether a local and a wire value say the same (collections compare as sets when either
    side is a set; mappings as dicts)."""
    if isinstance(local, (set, frozenset)) or isinstance(wire, (set, frozenset)):
        return set(local) == set(wire)
    if isinstance(local, (tuple, list)) and isinstance(wire, (tuple, list)):
        return list(local) == list(wire)
    if isinstance(local, Mapping) and isinstance(wire, Mapping):
        return dict(local) == dict(wire)
    return bool(local == wire)


def _assert_corresponds(twin: Twin, local: Any, wire: Any, besides: Iterable[str] = ()) -> None:
    """Every field the twins share (not retyped, not ``besides``: those the caller checks)
    carries the same value on both sides."""
    wire_names = set(_hints(twin.wire)) - set(twin.retyped) - set(besides)
    for wire_name, local_name in _local_names(twin).items():
        if wire_name in wire_names:
            assert _same(getattr(local, local_name), getattr(wire, wire_name)), \
                f"{twin}.{wire_name}: {getattr(local, local_name)!r} became " \
                f"{getattr(wire, wire_name)!r}"


def _twin(local: type[Any], wire: type[Any]) -> Twin:
    (found,) = [t for t in TWINS if t.local is local and t.wire is wire]
    return found


IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
TEXT = st.text(max_size=20)
NAMES = st.lists(TEXT, max_size=4)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10)
PRODUCED = st.builds(
    ProducedArtifact, name=TEXT, kind=st.sampled_from(["data", "model"]), ref=TEXT, format=TEXT,
    size=st.integers(0, 2**40), sha256=TEXT, locality=TEXT, upload=st.none() | TEXT,
    metadata=st.dictionaries(TEXT, JSON, max_size=3),
    metrics=st.dictionaries(TEXT, JSON, max_size=3))
VERDICTS = st.builds(
    GateVerdict, gate=st.integers(0, 20), type=st.sampled_from(["bias", "drift", "metric"]),
    target=TEXT, metric=TEXT, predicate=TEXT,
    value=st.none() | st.floats(allow_nan=False, allow_infinity=False), fired=st.booleans(),
    source=st.sampled_from(["measured", "reported", ""]), rows=st.none() | st.integers(0, 2**31),
    detail=st.none() | TEXT, error=st.none() | TEXT)
SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(st.builds(
    ActionSpec, key=st.text(min_size=1, max_size=20), kind=TEXT, code=st.none() | TEXT,
    binary=st.booleans(), main=TEXT, image=st.none() | TEXT,
    env=st.dictionaries(TEXT, TEXT, max_size=3), memory_mb=st.integers(1, 2**20),
    timeout_ms=st.integers(1, 2**31), concurrency=st.integers(1, 500),
    logs_mb=st.integers(0, 100)))
def test_an_action_spec_reaches_the_device_unchanged(spec: ActionSpec) -> None:
    run = _over_the_wire(Run("a1", controller.run_spec(spec), {}, {}))
    assert device.action_spec(run.spec) == spec


@SETTINGS
@given(st.builds(
    RunOutcome, status=st.integers(100, 599), response=JSON, logs=st.lists(TEXT, max_size=4),
    init_failed=st.booleans(), init_ms=st.none() | st.integers(0, 2**31),
    duration_ms=st.integers(0, 2**31), container_id=TEXT,
    start_ms=st.none() | st.integers(0, 2**31), timed_out=st.booleans(),
    produced=st.lists(PRODUCED, max_size=3).map(tuple),
    gates=st.lists(VERDICTS, max_size=3).map(tuple)))
def test_a_run_outcome_reaches_the_controller_unchanged(outcome: RunOutcome) -> None:
    result = _over_the_wire(Result("a1", outcome=device.outcome_of(outcome, outcome.logs)))
    assert controller.run_outcome(result.outcome) == outcome


@SETTINGS
@given(st.lists(TEXT, max_size=3), st.lists(TEXT, max_size=3))
def test_log_lines_sent_ahead_in_chunks_come_first(chunked: list[str], inline: list[str]) -> None:
    outcome = RunOutcome(200, {}, [*chunked, *inline], False, None, 1, "c")
    result = _over_the_wire(Result("a1", outcome=device.outcome_of(outcome, inline)))
    assert controller.run_outcome(result.outcome, chunked) == outcome


@SETTINGS
@given(PRODUCED)
def test_a_produced_artifact_reaches_the_controller_unchanged(item: ProducedArtifact) -> None:
    carried = Outcome(200, {}, (), False, None, 1, "c", produced=(by_name(Produced, item),))
    (produced,) = _over_the_wire(Result("a1", outcome=carried)).outcome.produced
    assert controller.produced_artifact(produced) == item


@SETTINGS
@given(VERDICTS)
def test_a_gate_verdict_reaches_the_controller_unchanged(verdict: GateVerdict) -> None:
    carried = Outcome(200, {}, (), False, None, 1, "c", gates=(by_name(Verdict, verdict),))
    (sent,) = _over_the_wire(Result("a1", outcome=carried)).outcome.gates
    assert controller.gate_verdict(sent) == verdict


@SETTINGS
@given(st.builds(Consumed, name=TEXT, kind=st.sampled_from(["data", "model"]), key=TEXT,
                 sha256=TEXT, size=st.integers(0, 2**40), format=TEXT, locality=TEXT,
                 reference=st.none() | st.dictionaries(TEXT, JSON, max_size=3)),
       st.builds(Produce, name=TEXT, kind=st.sampled_from(["data", "model"]), ref=TEXT,
                 locality=TEXT))
def test_consumes_and_produces_reach_the_devices_staging_unchanged(consumed: Consumed,
                                                                   produce: Produce) -> None:
    spec = controller.run_spec(ActionSpec("k", "python:3", None, False, "main", None, {}, 1, 1, 1))
    run = _over_the_wire(Run("a1", spec, {}, {}, consumes=(consumed,), produces=(produce,)))
    _assert_corresponds(_twin(ConsumeSpec, Consumed), consumed, run.consumes[0])
    _assert_corresponds(_twin(ProduceSpec, Produce), produce, run.produces[0])


CONFIGS = st.builds(
    AgentConfig, controller=TEXT, token=TEXT, id=IDS, memory_mb=st.integers(0, 2**20),
    namespace=st.none() | TEXT, labels=st.dictionaries(st.text(min_size=1, max_size=9), TEXT,
                                                       max_size=3),
    capabilities=NAMES.map(tuple), site=TEXT, owner=st.none() | TEXT,
    role=st.sampled_from(ROLES), bandwidth_mbps=st.none() | st.floats(0, 1e6),
    cached=st.lists(TEXT, max_size=3).map(tuple))


FLAG = st.none() | st.booleans()
CONTEXTS = st.builds(DeviceContext, battery=st.none() | st.floats(0, 1), charging=FLAG,
                     networks=NAMES.map(frozenset), idle=FLAG, metered=FLAG)


@SETTINGS
@given(CONFIGS, NAMES, CONTEXTS, NAMES, NAMES)
def test_an_agents_offer_reaches_placement_unchanged(config: AgentConfig, kinds: list[str],
                                                     context: DeviceContext, stored: list[str],
                                                     holding: list[str]) -> None:
    networks = context.networks
    register = _over_the_wire(device.register_of(
        config, agent_version="0.1.0", kinds=kinds, context=context, cached=stored,
        holding=holding))
    # cached: the configured keys, then the node store's
    _assert_corresponds(_twin(AgentConfig, Register), config, register, besides=["cached"])
    assert register.cached == tuple(dict.fromkeys([*config.cached, *stored]))
    assert (set(register.kinds), set(register.networks), register.holding) == \
        (set(kinds), set(networks), tuple(holding))
    state = controller.invoker_state(register, Metrics(), namespace="guest", healthy=True,
                                     in_flight=0, held_mb=0, networks=None,
                                     holds=register.cached)
    # cached: placement compares artifact names, the device reports registry keys
    _assert_corresponds(_twin(InvokerState, Register), state, register, besides=["cached"])
    assert state.cached == {cached_name(key) for key in register.cached}
    assert state.bandwidth_mbps == (config.bandwidth_mbps or controller.DEFAULT_BANDWIDTH_MBPS)
    assert state.namespaces == frozenset({"guest"})
    assert (state.battery, state.charging, state.idle, state.metered) == \
        (context.battery, context.charging, context.idle, context.metered)


@SETTINGS
@given(CONTEXTS, NAMES)
def test_a_devices_context_reaches_placement_unchanged(context: DeviceContext,
                                                       stored: list[str]) -> None:
    report = _over_the_wire(device.context_of(context))
    _assert_corresponds(_twin(DeviceContext, Context), context, report)
    cached = _over_the_wire(Context(cached=tuple(stored)))
    register = Register(id="d", memory_mb=1, kinds=(), agent_version="t", battery=0.5,
                        charging=True, idle=True, metered=True)
    reported = {name: getattr(report, name) for name in controller.CONTEXT_COLUMNS
                if getattr(report, name) is not None}
    state = controller.invoker_state(register, Metrics(), namespace="guest", healthy=True,
                                     in_flight=0, held_mb=0, networks=report.networks,
                                     holds=cached.cached, context=reported)
    assert state.networks == context.networks
    # what the report says wins; what it leaves out is the register's
    for name in controller.CONTEXT_COLUMNS:
        said = getattr(context, name)
        assert getattr(state, name) == (getattr(register, name) if said is None else said)
    assert state.cached == {cached_name(key) for key in stored}


@SETTINGS
@given(st.builds(Metrics, free_memory_mb=st.none() | st.integers(0, 4096),
                 in_flight=st.none() | st.integers(0, 99),
                 values=st.dictionaries(TEXT, st.floats(allow_nan=False, allow_infinity=False),
                                        max_size=3),
                 cold=NAMES.map(tuple)),
       st.integers(0, 8192))
def test_a_devices_free_memory_reaches_placement_unchanged(metrics: Metrics,
                                                           held_mb: int) -> None:
    report = _over_the_wire(metrics)
    register = Register(id="d", memory_mb=4096, kinds=(), agent_version="t")
    state = controller.invoker_state(register, report, namespace="guest", healthy=True,
                                     in_flight=3, held_mb=held_mb, networks=None, holds=())
    assert state.free_memory_mb == (max(0, 4096 - held_mb) if metrics.free_memory_mb is None
                                    else metrics.free_memory_mb)
    assert state.in_flight == 3


@SETTINGS
@given(st.builds(Entry, key=TEXT, sha256=TEXT, size=st.integers(0, 2**40), format=TEXT,
                 kind=TEXT, locality=TEXT, pinned=st.booleans(), last_used=st.floats()),
       IDS, st.sampled_from(["preload", "upload"]))
def test_a_store_entry_is_offered_unchanged(entry: Entry, transfer_id: str,
                                            purpose: str) -> None:
    offer = _over_the_wire(device.offer_of(entry, transfer_id, purpose))
    _assert_corresponds(_twin(Entry, ArtifactOffer), entry, offer)
    assert (offer.transfer_id, offer.purpose) == (transfer_id, purpose)


# ---- golden frames: what the previous agent and controller sent ------------------------------

def test_the_frames_the_conversions_build_are_those_of_the_previous_version() -> None:
    """Byte for byte (field order included), as built before the conversions had names."""
    config = AgentConfig(controller="wss://c", token="t", id="pi", memory_mb=512,
                         labels={"room": "lab"}, capabilities=("gpu",), site="home",
                         owner="u1", bandwidth_mbps=12.5, cached=("guest/a@1",),
                         protocol=1)  # an agent told --protocol 1 speaks it byte for byte
    register = device.register_of(config, agent_version="0.1.0", kinds={"python:3", "blackbox"},
                                  context=DeviceContext(None, None, frozenset({"wifi"})),
                                  cached=["guest/b@2"], holding=["a9"])
    assert encode(register) == (
        '{"type":"register","id":"pi","memory_mb":512,"kinds":["blackbox","python:3"],'
        '"agent_version":"0.1.0","namespace":null,"labels":{"room":"lab"},'
        '"capabilities":["gpu"],"networks":["wifi"],"site":"home","owner":"u1","role":"edge",'
        '"bandwidth_mbps":12.5,"cached":["guest/a@1","guest/b@2"],"holding":["a9"],'
        '"protocol":1}')
    outcome = RunOutcome(200, {"ok": True}, ["l1"], False, 3, 4, "c1", start_ms=5,
                         produced=(ProducedArtifact("m", "model", "guest/m@1", "bytes", 3, "ab",
                                                    "cloud", "t7", {"k": 1}, {"mae": 0.5}),))
    assert encode(Result("a1", outcome=device.outcome_of(outcome, outcome.logs))) == (
        '{"type":"result","activation_id":"a1","outcome":{"status":200,"response":{"ok":true},'
        '"logs":["l1"],"init_failed":false,"init_ms":3,"duration_ms":4,"container_id":"c1",'
        '"start_ms":5,"timed_out":false,"produced":[{"name":"m","kind":"model",'
        '"ref":"guest/m@1","format":"bytes","size":3,"sha256":"ab","locality":"cloud",'
        '"upload":"t7","metadata":{"k":1},"metrics":{"mae":0.5}}]},"error":null}')
    spec = ActionSpec("guest/a@1#d", "python:3", "code", False, "main", None, {"K": "v"}, 256,
                      1000, 2, 5)
    assert encode(Run("a1", controller.run_spec(spec), {}, {})) == (
        '{"type":"run","activation_id":"a1","spec":{"key":"guest/a@1#d","kind":"python:3",'
        '"code":"code","binary":false,"main":"main","image":null,"env":{"K":"v"},'
        '"memory_mb":256,"timeout_ms":1000,"concurrency":2,"logs_mb":5},"value":{},'
        '"fields":{},"consumes":[],"produces":[]}')
    assert encode(device.context_of(DeviceContext(0.5, None, frozenset({"b", "a"})))) == \
        '{"type":"context","battery":0.5,"charging":null,"networks":["a","b"],"cached":null}'


def test_fields_added_since_version_1_travel_only_when_they_say_something() -> None:
    """An ``Outcome`` without gate verdicts and a ``Consumed`` without a training reference
    are the frames a previous peer knows (see the golden frames above); with them, the
    fields travel and decode."""
    verdict = GateVerdict(1, "drift", "model", "psi", ">0.5", 0.75, True, "measured", rows=100,
                          detail="feature glucose")
    outcome = RunOutcome(200, {}, [], False, None, 4, "c1", gates=(verdict,))
    assert encode(Result("a1", outcome=device.outcome_of(outcome, []))) == (
        '{"type":"result","activation_id":"a1","outcome":{"status":200,"response":{},'
        '"logs":[],"init_failed":false,"init_ms":null,"duration_ms":4,"container_id":"c1",'
        '"start_ms":null,"timed_out":false,"produced":[],"gates":[{"gate":1,"type":"drift",'
        '"target":"model","metric":"psi","predicate":">0.5","value":0.75,"fired":true,'
        '"source":"measured","rows":100,"detail":"feature glucose","error":null}]},'
        '"error":null}')
    consumed = Consumed("model", "model", "guest/m@2", "ab", 3, "mxnet-gluon", "local")
    spec = controller.run_spec(ActionSpec("k", "python:3", None, False, "main", None, {}, 1, 1, 1))
    plain = encode(Run("a1", spec, {}, {}, consumes=(consumed,)))
    assert '"reference"' not in plain and decode(plain).consumes == (consumed,)
    referenced = dataclasses.replace(consumed, reference={"rows": 3, "edges": [[1.5]]})
    with_reference = encode(Run("a1", spec, {}, {}, consumes=(referenced,)))
    assert with_reference == plain.replace(
        '"locality":"local"}', '"locality":"local","reference":{"rows":3,"edges":[[1.5]]}}')
    assert decode(with_reference).consumes == (referenced,)
    # a device's context at registration, and idle and metered in its reports
    config = AgentConfig(controller="wss://c", token="t", id="pi", memory_mb=512, protocol=1)
    bare = encode(device.register_of(config, agent_version="0.1.0", kinds=(), cached=(),
                                      holding=(), context=DeviceContext(None, None, frozenset())))
    known = DeviceContext(0.5, False, frozenset(), idle=True, metered=False)
    full = encode(device.register_of(config, agent_version="0.1.0", kinds=(), cached=(),
                                      holding=(), context=known))
    assert full == bare.replace(
        '"protocol":1}', '"protocol":1,"battery":0.5,"charging":false,"idle":true,'
        '"metered":false}')
    assert encode(device.context_of(known)) == (
        '{"type":"context","battery":0.5,"charging":false,"networks":[],"cached":null,'
        '"idle":true,"metered":false}')


def test_version_2_frames_differ_only_by_what_version_2_added() -> None:
    """A version-2 agent's register says so; its result of a run that kept produces names
    the device's holdings after it (``cached``), absent otherwise; ``registered`` carries the
    version only when it is not 1 (what a version-1 agent decodes)."""
    config = AgentConfig(controller="wss://c", token="t", id="pi", memory_mb=512)
    context = DeviceContext(None, None, frozenset())
    v1, v2 = (encode(device.register_of(dataclasses.replace(config, protocol=p),
                                        agent_version="0.1.0", kinds=(), cached=(), holding=(),
                                        context=context))
              for p in (1, 2))
    assert v2 == v1.replace('"protocol":1}', '"protocol":2}')
    outcome = RunOutcome(200, {}, [], False, None, 4, "c1")
    (plain,) = device.result_frames("a1", outcome)
    (kept,) = device.result_frames("a1", outcome, ("guest/m@1",))
    assert kept == plain.replace('"error":null}', '"error":null,"cached":["guest/m@1"]}')
    assert decode(kept).cached == ("guest/m@1",) and decode(plain).cached is None
    # kept in the outbox across a reconnect to a controller of version 1: without the field
    assert device.for_version(kept, 1) == plain and device.for_version(kept, 2) == kept
    (said,) = device.result_frames("a1", dataclasses.replace(outcome, response={"cached": 1}))
    assert device.for_version(said, 1) == said  # the word in a response is no field
    assert encode(Registered("pi", 1.0, 2.0)) == (
        '{"type":"registered","id":"pi","heartbeat_s":1.0,"offline_after_s":2.0}')
    assert decode(encode(Registered("pi", 1.0, 2.0, protocol=2))).protocol == 2


@SETTINGS
@given(st.integers(0, 64), st.none() | st.floats(0, 1e4), st.integers(0, 2**40),
       st.integers(1, 2**40))
def test_a_devices_pushed_numbers_reach_the_controller_unchanged(
        containers: int, rtt_ms: float | None, used: int, capacity: int) -> None:
    """What an agent pushes in ``Metrics.values`` (its pool, its node store) is what the
    controller's invokers listing and ``/metrics`` read back; an agent without a store (or
    one that predates the values) pushes none, and the listing says so with None."""
    store = _StoreNumbers(used, capacity)
    moved = TransferCounts(sent=capacity, received=used)
    report = _over_the_wire(Metrics(values=device.metrics_values(containers, rtt_ms, store,
                                                                 moved)))
    assert (report.values["transfer_sent_bytes"], report.values["transfer_received_bytes"]) \
        == (capacity, used)  # counters: /metrics shows them as edgewhisk_agent_..._total
    assert report.values["containers"] == containers
    assert report.values[AGENT_LOGS_FEATURE] == 1  # the controller may open agent.logs
    assert report.values.get("rtt_ms") == rtt_ms
    assert controller.store_of(report.values) == {"used_bytes": used, "capacity_bytes": capacity}
    bare = _over_the_wire(Metrics(values=device.metrics_values(containers, rtt_ms, None)))
    assert controller.store_of(bare.values) is None
    assert controller.store_of(_over_the_wire(Metrics()).values) is None


@dataclass
class _StoreNumbers:
    """The two numbers ``metrics_values`` reads of a ``NodeStore`` (the store itself is
    tested in tests/runtime; byte counts up to 1 TiB are what is checked here)."""

    used_bytes: int
    capacity_bytes: int
