"""The tunnel's wire format: one frozen dataclass per message, ``decode``/``encode``, close codes.

Why one module: controller and agent must agree byte for byte, and every frame a device sends is
untrusted input. ``decode`` is the only way a frame becomes a message: it refuses oversized frames,
malformed JSON, unknown types and missing, extra or wrong-typed fields with a ``ProtocolError``
whose ``reason`` names the offending field (and whose ``close_code`` says how to close).

The conversation (JSON text frames, each an object with ``"type"``)::

    agent -> controller   register           first frame, within ``offline_after_s``; its
                                             ``protocol`` is the version the agent speaks
    controller -> agent   registered         heartbeat period and offline timeout to use, and
                                             (absent: 1) the version this connection speaks
    both ways             heartbeat          periodic; a heartbeat WITHOUT ``echo_ms`` is answered
                                             at once with the same ``seq`` and ``echo_ms`` = its
                                             ``sent_ms`` (round-trip time), unless ``quiet``
                                             (version 2: no answer needed); a reply is never
                                             answered. Any heartbeat proves liveness.
    agent -> controller   context, metrics   changes of battery/charging/networks/cached/idle/
                                             metered; load
    controller -> agent   run                one activation (kept by the controller until a
                                             result); version 2: without the code of a ``spec.key``
                                             already sent on this connection (``code_omitted``)
    agent -> controller   code.missing       version 2: a run's omitted code is not here: the
                                             controller resends that run once, with its code
    agent -> controller   logs*, result      logs chunks of that activation first (optional), then
                                             exactly one result; duplicates are ignored. In
                                             version 2 the result of a run that keeps produces
                                             names the device's holdings after it (``cached``,
                                             applied before the activation completes) and no
                                             ``context`` frame repeats them
    both ways             artifact.get       open a transfer of ``ref`` (a registry key
                                             ``ns/name@version``) or grant more credit on it
    both ways             artifact.offer     announce a push (preload, a produced ``cloud``
                                             artifact's upload); accepted by an artifact.get
    both ways             artifact.put       one chunk, sent only within the granted credit; the
                                             one BINARY frame: a JSON header line, then the bytes
    both ways             artifact.abort     end a transfer with a reason (refusal, digest...)
    both ways             drain, error       "place nothing new here" / a reason before a close
    controller -> agent   agent.logs         open (tail, follow) or stop a stream of the agent's
                                             own log; only to an agent whose metrics said it
                                             can (``AGENT_LOGS_FEATURE``)
    agent -> controller   agent.log          lines of such a stream, numbered (``first``), so a
                                             stream reopened after a reconnect neither repeats
                                             nor skips a line
    controller -> agent   offline.action*,   after registered: every action (``policy.offline``)
                          offline.keep       the device may keep, then the full list to keep
    agent -> controller   offline.record     an activation the device ran while cut off
    controller -> agent   offline.synced     those records are stored (once): forget them

Versions: a controller accepts ``PROTOCOL_VERSIONS`` and speaks the agent's version to it (a
fleet upgrades one device at a time); a version-1 controller refuses a version-2 ``register``
(``register.protocol 2 is not supported (need 1)``, close code 1002), which the agent reports
as fatal, naming ``--protocol 1``.

Authentication happens before the upgrade: ``Authorization: Bearer <device token>`` on the
WebSocket handshake to ``TUNNEL_PATH``; a missing, wrong or revoked token gets HTTP 401.

After re-registering, the agent lists in ``register.holding`` the activation ids it is still
running or holds results for; the controller treats any activation it sent to this invoker and
that is not listed as lost (re-dispatched when idempotent, else a whisk internal error).
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

import edgewhisk_json

from . import fields
from .errors import CloseCode as CloseCode  # re-exported: the schema names them
from .errors import ProtocolError as ProtocolError

PROTOCOL_VERSION = 2
"""The version this code speaks. Version 2 (docs/architecture.md, the wire schema): a ``result``
names the device's holdings after the run kept its produces (``Result.cached``), so the
controller never completes an activation before it knows where the produced artifact is."""
PROTOCOL_VERSIONS = (1, 2)
"""The versions a controller of this code accepts in ``register.protocol`` (a fleet upgrades
one device at a time); it answers each in ``registered.protocol`` with the version the
connection speaks, the lower of the two."""
RTT_BEATS = 15
"""Every this many heartbeat periods a connection's round trip is measured, on both ends: the
controller's probe rides on its answer to a device heartbeat, and a version-2 agent asks for
an answer to its heartbeat (``Heartbeat.quiet`` false). Why not every period: the heartbeats
prove the device alive without answers, the round trip only feeds placement's smoothed
proximity, and each frame costs both ends a send and a read: at 1 Hz the probe was half of a
connected device's frames, every 15 periods cost 0.84-0.85x of the heartbeat CPU of every 5
in two interleaved A/Bs (docs/hotpath.md), and the round trip placement reads still follows a
change within about a minute (the average weighs a new sample 0.3)."""
TUNNEL_PATH = "/v1/invokers/tunnel"
AUTH_SCHEME = "Bearer"

MAX_FRAME_BYTES = 4 * 1024 * 1024
"""Largest frame either side accepts (UTF-8 bytes). A ``run`` carries a 1 MiB payload plus the
action's code, a ``result`` a 1 MiB result; logs beyond a frame go in ``logs`` chunks first.
Both sides pass it as aiohttp's ``max_msg_size``; an action whose ``run`` frame would exceed it
cannot run on an edge invoker (``encode`` raises ``FrameTooLarge``)."""

ARTIFACT_CHUNK_BYTES = 1024 * 1024
"""Bytes per ``artifact.put`` chunk (its binary frame's payload)."""

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""An invoker or activation id, matched in full (``$`` would let a trailing newline through)."""
FRAME_NESTING = 8
"""Levels a frame adds around the values it carries (a ``run``'s value, a ``result``'s
response), so that a value the API accepted at ``edgewhisk_json.MAX_DEPTH`` still travels."""
ROLES = ("edge", "cloud")

ADDED: Mapping[str, Any] = types.MappingProxyType({"added": True})
"""The metadata of a field added after protocol version 1 shipped: ``encode`` leaves it out
while it holds its default, so a peer of the previous version (whose ``decode`` refuses
unknown fields) never sees it, and ``decode`` takes it as optional like any defaulted field."""


class MessageType(enum.StrEnum):
    REGISTER = "register"
    REGISTERED = "registered"
    HEARTBEAT = "heartbeat"
    CONTEXT = "context"
    RUN = "run"
    RESULT = "result"
    CODE_MISSING = "code.missing"
    LOGS = "logs"
    METRICS = "metrics"
    ARTIFACT_GET = "artifact.get"
    ARTIFACT_PUT = "artifact.put"
    ARTIFACT_OFFER = "artifact.offer"
    ARTIFACT_ABORT = "artifact.abort"
    DRAIN = "drain"
    ERROR = "error"
    AGENT_LOGS = "agent.logs"
    AGENT_LOG = "agent.log"
    OFFLINE_ACTION = "offline.action"
    OFFLINE_KEEP = "offline.keep"
    OFFLINE_RECORD = "offline.record"
    OFFLINE_SYNCED = "offline.synced"


class FrameTooLarge(ProtocolError):
    def __init__(self, size: int) -> None:
        super().__init__(f"frame of {size} bytes exceeds the {MAX_FRAME_BYTES}-byte limit",
                         CloseCode.MESSAGE_TOO_BIG)
        self.size = size


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise ProtocolError(reason)


def _check_id(value: str, what: str) -> None:
    _require(bool(_ID.fullmatch(value)), f"{what} must match {_ID.pattern}, got {value!r}")


# --- nested values -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RunSpec:
    """``edgewhisk_runtime.containers.ActionSpec`` on the wire (same field names; checked by
    ``tests/tunnel/test_parity.py``, like every other wire/local twin)."""

    key: str
    kind: str
    code: str | None
    binary: bool
    main: str
    image: str | None
    env: Mapping[str, str]
    memory_mb: int
    timeout_ms: int
    concurrency: int
    logs_mb: int = 10

    def __post_init__(self) -> None:
        _require(bool(self.key), "spec.key must not be empty")
        _require(self.memory_mb > 0 and self.timeout_ms > 0 and self.concurrency > 0,
                 "spec.memory_mb, spec.timeout_ms and spec.concurrency must be positive")
        _require(self.logs_mb >= 0, "spec.logs_mb must not be negative")


@dataclass(frozen=True)
class Consumed:
    """One consumed artifact of a run, resolved by the controller to one registry version.

    ``name`` is the keyword ``main`` receives; ``key`` the registry id ``ns/name@version``
    (what the device store and ``artifact.get`` use); ``sha256``/``size`` describe the
    canonical blob (a folder format travels as a deterministic tar)."""

    name: str
    kind: str
    key: str
    sha256: str
    size: int
    format: str
    locality: str
    reference: Mapping[str, Any] | None = field(default=None, metadata=ADDED)
    """A model's training reference (``metadata.training_reference``): a drift gate compares
    the serving inputs with it."""

    def __post_init__(self) -> None:
        _require(self.kind in ("data", "model"), "consumed.kind must be 'data' or 'model'")
        _require(self.size >= 0, "consumed.size must not be negative")


@dataclass(frozen=True)
class Produce:
    """One produced artifact a run must keep: what ``main`` returns under ``name`` becomes the
    version ``ref`` (the registry key ``ns/name@version`` the controller allocated before the
    run; ``name`` of it is the bound ref) with ``locality``."""

    name: str
    kind: str
    ref: str
    locality: str

    def __post_init__(self) -> None:
        _require(self.kind in ("data", "model"), "produce.kind must be 'data' or 'model'")


@dataclass(frozen=True)
class Produced:
    """A produced artifact as the invoker kept it (its canonical blob's digest): the runtime's
    ``ProducedArtifact`` on the wire (same field names). ``upload``: the transfer id of the
    ``artifact.offer``/``put`` that carried a ``cloud`` artifact's bytes to the controller
    before this result (None: the bytes stayed on the invoker)."""

    name: str
    kind: str
    ref: str
    format: str
    size: int
    sha256: str
    locality: str
    upload: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)   # edgewhisk.Output metadata
    metrics: Mapping[str, Any] = field(default_factory=dict)    # edgewhisk.Output metrics

    def __post_init__(self) -> None:
        _require(self.size >= 0, "produced.size must not be negative")


@dataclass(frozen=True)
class Verdict:
    """One gate's verdict: ``edgewhisk_runtime.artifacts.GateVerdict`` on the wire (same field
    names). ``target`` is the artifact's name in the annotation; the controller knows which
    version it was, so a device never says."""

    gate: int
    type: str
    target: str
    metric: str
    predicate: str
    value: float | None
    fired: bool
    source: str
    rows: int | None = None
    detail: str | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        _require(self.gate >= 0, "verdict.gate must not be negative")


@dataclass(frozen=True)
class Outcome:
    """``edgewhisk_runtime.containers.RunOutcome`` on the wire (same field names)."""

    status: int
    response: Any
    logs: tuple[str, ...]
    init_failed: bool
    init_ms: int | None
    duration_ms: int
    container_id: str
    start_ms: int | None = None
    timed_out: bool = False
    produced: tuple[Produced, ...] = ()
    gates: tuple[Verdict, ...] = field(default=(), metadata=ADDED)


# --- messages ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Register:
    """First frame of a connection: who this invoker is and what it offers."""

    TYPE: ClassVar[MessageType] = MessageType.REGISTER
    id: str
    memory_mb: int
    kinds: tuple[str, ...]
    agent_version: str
    namespace: str | None = None          # must equal the token's namespace when given
    labels: Mapping[str, str] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    site: str = ""
    owner: str | None = None
    role: str = "edge"
    bandwidth_mbps: float | None = None
    cached: tuple[str, ...] = ()          # artifact keys "ns/name@version" held on the device
    holding: tuple[str, ...] = ()         # activation ids running or finished-but-unreported
    protocol: int = PROTOCOL_VERSION
    # the live context at registration (as in ``context``), so that placement never sees a
    # battery device without its battery, not even until its first report
    battery: float | None = field(default=None, metadata=ADDED)
    charging: bool | None = field(default=None, metadata=ADDED)
    idle: bool | None = field(default=None, metadata=ADDED)
    metered: bool | None = field(default=None, metadata=ADDED)

    def __post_init__(self) -> None:
        _check_id(self.id, "register.id")
        _require(self.battery is None or 0.0 <= self.battery <= 1.0,
                 "register.battery must be within 0..1")
        _require(self.memory_mb >= 0, "register.memory_mb must not be negative")
        _require(self.role in ROLES, f"register.role must be one of {ROLES}, got {self.role!r}")
        _require(all(self.labels), "register.labels keys must not be empty")
        _require(self.protocol in PROTOCOL_VERSIONS,
                 f"register.protocol {self.protocol} is not supported (need one of "
                 f"{', '.join(map(str, PROTOCOL_VERSIONS))})")


@dataclass(frozen=True)
class Registered:
    TYPE: ClassVar[MessageType] = MessageType.REGISTERED
    id: str
    heartbeat_s: float
    offline_after_s: float
    protocol: int = field(default=1, metadata=ADDED)
    """The version this connection speaks (absent: 1, what a version-1 agent expects)."""

    def __post_init__(self) -> None:
        _require(0 < self.heartbeat_s < self.offline_after_s,
                 "registered needs 0 < heartbeat_s < offline_after_s")
        _require(self.protocol in PROTOCOL_VERSIONS,
                 f"registered.protocol {self.protocol} is not supported")


@dataclass(frozen=True)
class Heartbeat:
    TYPE: ClassVar[MessageType] = MessageType.HEARTBEAT
    seq: int
    sent_ms: int                          # sender's clock (ms); only ever compared by the sender
    echo_ms: int | None = None            # set on a reply: the sent_ms being answered
    quiet: bool = field(default=False, metadata=ADDED)
    """Protocol 2: the sender needs no answer (no result of its awaits confirmation, no
    round trip of its is due). It proves the sender alive all the same."""

    def __post_init__(self) -> None:
        _require(self.seq >= 0, "heartbeat.seq must not be negative")
        _require(not (self.quiet and self.echo_ms is not None),
                 "heartbeat.quiet is for a heartbeat, not a reply")

    def reply(self, now_ms: int) -> Heartbeat:
        """The answer to this heartbeat (never call it on a reply)."""
        return Heartbeat(seq=self.seq, sent_ms=now_ms, echo_ms=self.sent_ms)


@dataclass(frozen=True)
class Context:
    """What changed on the device; ``None`` = unchanged."""

    TYPE: ClassVar[MessageType] = MessageType.CONTEXT
    battery: float | None = None          # 0..1
    charging: bool | None = None
    networks: tuple[str, ...] | None = None
    cached: tuple[str, ...] | None = None
    idle: bool | None = field(default=None, metadata=ADDED)     # no activation for a while
    metered: bool | None = field(default=None, metadata=ADDED)  # on metered networks only

    def __post_init__(self) -> None:
        _require(self.battery is None or 0.0 <= self.battery <= 1.0,
                 "context.battery must be within 0..1")


@dataclass(frozen=True)
class Run:
    TYPE: ClassVar[MessageType] = MessageType.RUN
    activation_id: str
    spec: RunSpec
    value: Mapping[str, Any]
    fields: Mapping[str, str]             # activation_id, transaction_id, namespace, ... (pool)
    consumes: tuple[Consumed, ...] = ()   # staged on the device before /run
    produces: tuple[Produce, ...] = ()    # kept on the device (or uploaded) after /run
    code_omitted: bool = field(default=False, metadata=ADDED)
    """Protocol 2: ``spec.code`` is left out (null): it is the code the controller sent
    earlier on this connection with the same ``spec.key`` (the key carries the code's
    digest). A device that no longer has it answers ``code.missing``."""

    def __post_init__(self) -> None:
        _check_id(self.activation_id, "run.activation_id")
        _require(not self.code_omitted or self.spec.code is None,
                 "run.code_omitted needs spec.code null")


CODES_KEPT = 256
"""Spec keys whose code each end of a protocol-2 connection remembers at most, the least
recently used forgotten first: the agent keeps the code of that many (also bounded in bytes),
the controller the keys whose code it sent on the connection, which it then omits. Why the
controller's bound too: a key holds a digest of the action's ``init`` parameters, which an
invoke may set, so the keys sent on one connection grew with its activations; past the
agent's bound, remembering a key saves nothing (the agent answers ``code.missing``)."""


@dataclass(frozen=True)
class CodeMissing:
    """Protocol 2: the device cannot run ``activation_id``: its ``run`` omitted the code of
    ``key`` and the device does not have it (evicted, or never received on this connection).
    The controller sends the ``run`` again, once, with the code; nothing ran."""

    TYPE: ClassVar[MessageType] = MessageType.CODE_MISSING
    activation_id: str
    key: str

    def __post_init__(self) -> None:
        _check_id(self.activation_id, "code.missing.activation_id")


@dataclass(frozen=True)
class Result:
    """The end of one activation: an ``outcome``, or ``error`` when the device's infrastructure
    failed (a whisk internal error naming this invoker). Exactly one of the two."""

    TYPE: ClassVar[MessageType] = MessageType.RESULT
    activation_id: str
    outcome: Outcome | None = None
    error: str | None = None
    cached: tuple[str, ...] | None = field(default=None, metadata=ADDED)
    """Protocol 2: the registry keys the device holds once the run kept its produces (what
    a ``context.cached`` would say), applied before the activation completes, so a flow's
    next step placed by where a produced artifact is finds it whatever frame came first.
    None: the run changed nothing the device holds (or the connection speaks version 1)."""

    def __post_init__(self) -> None:
        _check_id(self.activation_id, "result.activation_id")
        _require((self.outcome is None) != (self.error is None),
                 "result needs exactly one of outcome and error")


@dataclass(frozen=True)
class Logs:
    TYPE: ClassVar[MessageType] = MessageType.LOGS
    activation_id: str
    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_id(self.activation_id, "logs.activation_id")


@dataclass(frozen=True)
class Metrics:
    """Load report; ``None`` = unknown. ``values`` carries anything else (cpu, temperature...)."""

    TYPE: ClassVar[MessageType] = MessageType.METRICS
    free_memory_mb: int | None = None
    in_flight: int | None = None
    values: Mapping[str, float] = field(default_factory=dict)
    cold: tuple[str, ...] = ()   # action keys ns/name@version whose last warm container left


@dataclass(frozen=True)
class ArtifactGet:
    """Open a transfer of ``ref`` (first get of ``transfer_id``) or grant more credit on it:
    the sender may send chunks up to byte ``offset + window * ARTIFACT_CHUNK_BYTES``
    (receiver-driven sliding window; ``offset`` = the next byte the receiver expects). A get
    answering an ``artifact.offer`` accepts the push."""

    TYPE: ClassVar[MessageType] = MessageType.ARTIFACT_GET
    transfer_id: str
    ref: str
    offset: int = 0
    window: int = 4

    def __post_init__(self) -> None:
        _check_id(self.transfer_id, "artifact.get.transfer_id")
        _require(self.offset >= 0 and self.window > 0,
                 "artifact.get needs offset >= 0 and window > 0")


@dataclass(frozen=True)
class ArtifactPut:
    """One chunk of an artifact: ``data`` at ``offset`` of ``size`` bytes; ``eof`` on the last
    one, whose ``sha256`` covers the whole artifact (its canonical blob).

    The one message in a BINARY frame (``encode`` gives bytes): a JSON header line without
    ``data``, ``\\n``, then the chunk's bytes as they are — no base64, no JSON escaping of a
    megabyte, which made text-frame transfers CPU-bound at tens of MB/s."""

    TYPE: ClassVar[MessageType] = MessageType.ARTIFACT_PUT
    transfer_id: str
    ref: str
    offset: int
    size: int
    data: bytes = field(default=b"", repr=False)
    eof: bool = False
    sha256: str | None = None
    format: str | None = None

    def __post_init__(self) -> None:
        _check_id(self.transfer_id, "artifact.put.transfer_id")
        _require(0 <= self.offset <= self.size, "artifact.put needs 0 <= offset <= size")
        _require(len(self.data) <= ARTIFACT_CHUNK_BYTES,
                 f"artifact.put chunk exceeds {ARTIFACT_CHUNK_BYTES} bytes")


@dataclass(frozen=True)
class ArtifactOffer:
    """Announce a push of ``ref`` (``size`` bytes, ``sha256``): the receiver answers with an
    ``artifact.get`` of the same ``transfer_id`` (accept) or an ``artifact.abort`` (refuse).
    ``purpose``: ``preload`` (controller -> device) or ``upload`` (a produced ``cloud``
    artifact, device -> controller)."""

    TYPE: ClassVar[MessageType] = MessageType.ARTIFACT_OFFER
    transfer_id: str
    ref: str
    size: int
    sha256: str
    format: str
    kind: str
    locality: str
    purpose: str

    def __post_init__(self) -> None:
        _check_id(self.transfer_id, "artifact.offer.transfer_id")
        _require(self.size >= 0, "artifact.offer.size must not be negative")
        _require(self.purpose in ("preload", "upload"),
                 "artifact.offer.purpose must be 'preload' or 'upload'")


@dataclass(frozen=True)
class ArtifactAbort:
    """End transfer ``transfer_id`` from either side: a refusal (locality, not found, store
    full) or a failure (digest mismatch, disk). ``reason`` names the rule or the cause."""

    TYPE: ClassVar[MessageType] = MessageType.ARTIFACT_ABORT
    transfer_id: str
    reason: str

    def __post_init__(self) -> None:
        _check_id(self.transfer_id, "artifact.abort.transfer_id")


AGENT_LOGS_FEATURE = "feature.agent_logs"
"""An agent that streams its own log (``AgentLogs``) says so with ``metrics.values[
AGENT_LOGS_FEATURE] = 1`` (right after registering): ``values`` is free-form, so a controller
that predates it ignores it, where a new ``register`` field would make it refuse the
register. A controller never sends ``agent.logs`` to an agent that did not say so (an agent
that predates it would close the connection on an unknown type)."""
AGENT_LOG_LINES = 200
"""Lines per ``agent.log`` frame at most (each line is cut at ``AGENT_LOG_LINE_BYTES``)."""
AGENT_LOG_LINE_BYTES = 4096


@dataclass(frozen=True)
class AgentLogs:
    """Controller -> agent: open stream ``stream_id`` of the agent's own log -- the last
    ``tail`` lines numbered above ``after`` (-1: none read yet), then every new one while
    ``follow`` -- or end it (``stop``)."""

    TYPE: ClassVar[MessageType] = MessageType.AGENT_LOGS
    stream_id: str
    after: int = -1
    tail: int = 100
    follow: bool = False
    stop: bool = False

    def __post_init__(self) -> None:
        _check_id(self.stream_id, "agent.logs.stream_id")
        _require(self.after >= -1 and self.tail >= 0,
                 "agent.logs needs after >= -1 and tail >= 0")


@dataclass(frozen=True)
class AgentLog:
    """Agent -> controller: lines of stream ``stream_id``, numbered from ``first``; ``end``:
    the stream is over (it did not follow, or was stopped)."""

    TYPE: ClassVar[MessageType] = MessageType.AGENT_LOG
    stream_id: str
    first: int
    lines: tuple[str, ...]
    end: bool = False

    def __post_init__(self) -> None:
        _check_id(self.stream_id, "agent.log.stream_id")
        _require(self.first >= 0, "agent.log.first must not be negative")
        _require(len(self.lines) <= AGENT_LOG_LINES,
                 f"agent.log carries at most {AGENT_LOG_LINES} lines")


@dataclass(frozen=True)
class Drain:
    TYPE: ClassVar[MessageType] = MessageType.DRAIN
    reason: str


@dataclass(frozen=True)
class Error:
    TYPE: ClassVar[MessageType] = MessageType.ERROR
    reason: str
    activation_id: str | None = None


@dataclass(frozen=True)
class OfflineAction:
    """An action version the device may keep and run while cut off (``edgewhisk.offline``):
    its ``spec`` (code included), its ``edgewhisk`` annotation (consumes, policies) and its
    default ``parameters``. ``name`` is ``ns/[pkg/]name``."""

    TYPE: ClassVar[MessageType] = MessageType.OFFLINE_ACTION
    name: str
    version: str
    spec: RunSpec
    annotation: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(bool(self.name) and bool(self.version),
                 "offline.action needs a name and a version")


@dataclass(frozen=True)
class OfflineKeep:
    """The complete list of action names the device may keep now: it drops every other copy
    (an action deleted, or narrowed to other devices)."""

    TYPE: ClassVar[MessageType] = MessageType.OFFLINE_KEEP
    names: tuple[str, ...] = ()


PROVISIONAL = "offline-"
"""What the version of a provisional key starts with (``ns/name@offline-ACTIVATION``)."""


def provisional_key(namespace: str, name: str, activation_id: str) -> str:
    """The key a device keeps an artifact under that it produced cut off, until the
    controller allocated its version: unique per (activation, artifact name), never a number,
    so it can be mistaken for no registry version."""
    return f"{namespace}/{name}@{PROVISIONAL}{activation_id}"


@dataclass(frozen=True)
class OfflineRecord:
    """An activation the device ran while cut off: its device-made ``activation_id``, the
    action version it ran, when (the device's wall clock, epoch ms) and how it ended. The
    controller stores it once, as the record of a run on this invoker, and confirms it with
    ``offline.synced``. ``consumed``: the registry key of each version it read, by its name in
    the annotation (the lineage of what it produced, the targets of its gates). Artifacts it
    produced are in ``outcome.produced``, each under a provisional key
    ``ns/name@offline-ACTIVATION`` (a device cut off cannot know the next version number):
    the controller allocates their versions and answers the keys."""

    TYPE: ClassVar[MessageType] = MessageType.OFFLINE_RECORD
    activation_id: str
    name: str
    version: str
    start_ms: int
    end_ms: int
    outcome: Outcome
    consumed: Mapping[str, str] = field(default_factory=dict, metadata=ADDED)

    def __post_init__(self) -> None:
        _check_id(self.activation_id, "offline.record.activation_id")
        _require(0 <= self.start_ms <= self.end_ms,
                 "offline.record needs 0 <= start_ms <= end_ms")


@dataclass(frozen=True)
class OfflineSynced:
    """These offline records are stored (or were already): the device forgets them.
    ``artifacts``: the registry key allocated for each provisional key they produced (the
    device keeps the bytes under it, and uploads a ``cloud`` one)."""

    TYPE: ClassVar[MessageType] = MessageType.OFFLINE_SYNCED
    activation_ids: tuple[str, ...]
    artifacts: Mapping[str, str] = field(default_factory=dict, metadata=ADDED)


TextMessage: TypeAlias = (Register | Registered | Heartbeat | Context | Run | CodeMissing
                          | Result | Logs
                          | Metrics | ArtifactGet | ArtifactOffer | ArtifactAbort | Drain | Error
                          | AgentLogs | AgentLog | OfflineAction | OfflineKeep | OfflineRecord
                          | OfflineSynced)
"""Every message that travels in a text frame (all but ``ArtifactPut``)."""
Message: TypeAlias = TextMessage | ArtifactPut

MESSAGES: dict[MessageType, type[Any]] = {
    cls.TYPE: cls for cls in typing.get_args(Message)
}
"""The one registry from wire type to class."""


# --- decoding ----------------------------------------------------------------------------------

def decode(frame: str | bytes) -> Message:
    """The message in one frame — text (str) or binary (bytes, an ``artifact.put``);
    ``ProtocolError`` (with a reason) for anything else."""
    if isinstance(frame, bytes):
        return _decode_chunk(frame)
    size = len(frame) if frame.isascii() else len(frame.encode("utf-8", "replace"))
    if size > MAX_FRAME_BYTES:
        raise FrameTooLarge(size)
    message = _decode_object(frame)
    _require(not isinstance(message, ArtifactPut),
             "artifact.put travels in a binary frame (a JSON header line, then the bytes)")
    return message


def _decode_chunk(frame: bytes) -> ArtifactPut:
    if len(frame) > MAX_FRAME_BYTES:
        raise FrameTooLarge(len(frame))
    header, newline, data = frame.partition(b"\n")
    if not newline:
        raise ProtocolError("a binary frame must be an artifact.put: a JSON header line, "
                            "then the bytes", CloseCode.UNSUPPORTED_DATA)
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("the artifact.put header is not UTF-8",
                            CloseCode.UNSUPPORTED_DATA) from None
    message = _decode_object(text)
    if not isinstance(message, ArtifactPut):
        raise ProtocolError(f"a binary frame must be an artifact.put, not {message.TYPE}",
                            CloseCode.UNSUPPORTED_DATA)
    _require(not message.data, "the artifact.put header must not carry 'data'")
    return dataclasses.replace(message, data=data)


def _decode_object(frame: str) -> Message:
    try:
        obj = edgewhisk_json.loads(frame, max_depth=edgewhisk_json.MAX_DEPTH + FRAME_NESTING)
    except edgewhisk_json.JSONError as exc:
        raise ProtocolError(f"malformed JSON: {exc.reason}") from None
    _require(isinstance(obj, dict), f"a frame must be a JSON object, got {fields.type_name(obj)}")
    kind = obj.pop("type", None)
    _require(isinstance(kind, str), "a frame needs a string field 'type'")
    try:
        cls = MESSAGES[MessageType(kind)]
    except ValueError:
        raise ProtocolError(f"unknown message type {kind!r}") from None
    message: Message = fields.build(cls, obj, kind)
    return message


def to_dict(message: Message) -> dict[str, Any]:
    """The JSON object of ``message`` (``type`` first)."""
    return {"type": str(message.TYPE), **fields.plain(message)}


@typing.overload
def encode(message: ArtifactPut) -> bytes: ...


@typing.overload
def encode(message: TextMessage) -> str: ...


@typing.overload
def encode(message: Message) -> str | bytes: ...


def encode(message: Message) -> str | bytes:
    """The frame of ``message``: text, or bytes (binary) for an ``artifact.put``;
    ``FrameTooLarge`` if it exceeds ``MAX_FRAME_BYTES``."""
    if isinstance(message, ArtifactPut):
        header = {k: v for k, v in to_dict(message).items() if k != "data"}
        frame = _dumps(header).encode() + b"\n" + message.data
        if len(frame) > MAX_FRAME_BYTES:
            raise FrameTooLarge(len(frame))
        return frame
    text = _dumps(to_dict(message))
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    if size > MAX_FRAME_BYTES:
        raise FrameTooLarge(size)
    return text


def _dumps(value: Any) -> str:
    """The strict writer: a message the peer's ``decode`` would refuse (``NaN``, a lone
    surrogate) is a ``ProtocolError`` here, before it is sent."""
    try:
        return edgewhisk_json.dumps(value)
    except edgewhisk_json.JSONError as exc:
        raise ProtocolError(f"not standard JSON: {exc.reason}") from None


def is_valid_id(value: str) -> bool:
    """Whether ``value`` is a valid invoker/activation id on the wire."""
    return bool(_ID.fullmatch(value))
