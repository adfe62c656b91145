"""Between the device's values and the tunnel's messages (the schema is ``edgewhisk_tunnel``).

Why one module: every value the device sends or receives has a twin on the wire (a run's
``RunSpec`` is the pool's ``ActionSpec``, an ``Outcome`` its ``RunOutcome``, a ``Produced`` the
runtime's ``ProducedArtifact``, a ``Verdict`` its ``GateVerdict``, ``register`` the agent's
``AgentConfig``, ``context`` its ``DeviceContext``, an ``artifact.offer`` a node-store
``Entry``), and here is the device's one conversion per twin and direction; the controller's half is
``edgewhisk_controller.tunnel.twins``. ``tests/tunnel/test_parity.py`` checks that the twins
keep the same fields and that a value survives both halves and the wire unchanged, so a field
added on one side only fails a test naming it.

Why logs may travel apart from the result: a ``result`` frame must stay under
``MAX_FRAME_BYTES`` with a 1 MiB result in it, while an action may write up to 10 MB of logs
(OpenWhisk's limit). Small logs ride inside the result's outcome; large ones go first as
``logs`` chunks of at most ``LOGS_CHUNK_BYTES`` each, and the outcome then carries none (the
controller appends chunks, then the outcome's lines, in order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from edgewhisk_runtime.artifacts import Entry
from edgewhisk_runtime.artifacts.store import NodeStore
from edgewhisk_runtime.containers import ActionSpec, RunOutcome
from edgewhisk_tunnel import (
    AGENT_LOGS_FEATURE,
    ArtifactOffer,
    Context,
    FrameTooLarge,
    Logs,
    Outcome,
    ProtocolError,
    Register,
    Result,
    RunSpec,
    decode,
    encode,
)
from edgewhisk_tunnel.copies import by_name, outcome_from
from edgewhisk_tunnel.transfers import TransferCounts

from .config import AgentConfig
from .context import DeviceContext

INLINE_LOGS_BYTES = 256 * 1024
LOGS_CHUNK_BYTES = 1024 * 1024


def action_spec(spec: RunSpec, code: str | None = None) -> ActionSpec:
    """The wire spec as the pool's ``ActionSpec`` (the same fields by design); ``code``
    when the run omitted it (protocol 2: ``codes.Codes``)."""
    return by_name(ActionSpec, spec) if code is None else by_name(ActionSpec, spec, code=code)


def outcome_of(run: RunOutcome, logs: Sequence[str]) -> Outcome:
    """The pool's outcome on the wire, carrying ``logs`` (those not sent as chunks)."""
    return outcome_from(run, logs)


def register_of(config: AgentConfig, *, agent_version: str, kinds: Iterable[str],
                context: DeviceContext, cached: Iterable[str],
                holding: Iterable[str]) -> Register:
    """The ``register`` of this device: its configured offer, the kinds its pool runs, its
    context now (networks, battery, charging, idle, metered), the artifacts it holds
    (configured, then its store's keys) and the activations it still runs or holds results
    of."""
    return Register(
        id=config.id, memory_mb=config.memory_mb, kinds=tuple(sorted(kinds)),
        agent_version=agent_version, namespace=config.namespace, labels=dict(config.labels),
        capabilities=config.capabilities, networks=tuple(sorted(context.networks)),
        site=config.site, owner=config.owner, role=config.role,
        bandwidth_mbps=config.bandwidth_mbps,
        cached=tuple(dict.fromkeys([*config.cached, *cached])), holding=tuple(holding),
        battery=context.battery, charging=context.charging, idle=context.idle,
        metered=context.metered, protocol=config.protocol)


def context_of(context: DeviceContext) -> Context:
    """A ``context`` report of the device's battery and networks (``cached`` goes alone,
    when the node store changes)."""
    return Context(battery=context.battery, charging=context.charging,
                   networks=tuple(sorted(context.networks)), idle=context.idle,
                   metered=context.metered)


def metrics_values(containers: int, rtt_ms: float | None, store: NodeStore | None,
                   transfers: TransferCounts | None = None) -> dict[str, float]:
    """What the controller's ``/metrics`` and invokers listing show of the device beside its
    load: ``Metrics.values`` (free-form on the wire, so every controller version accepts
    them; ``tunnel.twins.store_of`` reads the store's back), and that it streams its log."""
    values = {"containers": float(containers), AGENT_LOGS_FEATURE: 1.0}
    if rtt_ms is not None:
        values["rtt_ms"] = float(rtt_ms)
    if store is not None:
        values["store_used_bytes"] = float(store.used_bytes)
        values["store_capacity_bytes"] = float(store.capacity_bytes)
    if transfers is not None:
        values["transfer_sent_bytes"] = float(transfers.sent)
        values["transfer_received_bytes"] = float(transfers.received)
    return values


def offer_of(entry: Entry, transfer_id: str, purpose: str) -> ArtifactOffer:
    """An ``artifact.offer`` of a node-store entry's canonical blob."""
    return ArtifactOffer(transfer_id=transfer_id, ref=entry.key, size=entry.size,
                         sha256=entry.sha256, format=entry.format, kind=entry.kind,
                         locality=entry.locality, purpose=purpose)


def _size(lines: Sequence[str]) -> int:
    return sum(len(line.encode("utf-8")) + 4 for line in lines)


def chunk_lines(lines: Sequence[str], limit: int = LOGS_CHUNK_BYTES) -> list[list[str]]:
    """Consecutive groups of whole lines, each under ``limit`` bytes (a longer line alone)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        cost = len(line.encode("utf-8")) + 4
        if current and size + cost > limit:
            chunks.append(current)
            current, size = [], 0
        current.append(line)
        size += cost
    if current:
        chunks.append(current)
    return chunks


def result_frames(activation_id: str, run: RunOutcome,
                  cached: tuple[str, ...] | None = None) -> list[str]:
    """The frames of one result as sent: ``logs`` chunks (only for large logs), then the
    ``result`` (naming what the device holds after the run: ``cached``, protocol 2); a
    result too large for a frame, or not standard JSON, becomes an error result
    rather than a frame the controller would refuse. Encoded here, once: the check that the
    result can travel is its encoding, and the outbox keeps the text to send (and resend)."""
    frames: list[str] = []
    inline = list(run.logs)
    if _size(inline) > INLINE_LOGS_BYTES:
        frames = [encode(Logs(activation_id, tuple(chunk))) for chunk in chunk_lines(inline)]
        inline = []
    try:
        result = encode(Result(activation_id, outcome=outcome_of(run, inline), cached=cached))
    except FrameTooLarge as exc:
        result = error_frame(activation_id, f"the activation's result is too large for the "
                                            f"tunnel ({exc.size} bytes)")
    except ProtocolError as exc:  # not standard JSON: the controller's decode would refuse it
        result = error_frame(activation_id, f"the activation's result cannot travel: "
                                            f"{exc.reason}")
    return [*frames, result]


def for_version(frame: str, protocol: int) -> str:
    """``frame`` as a connection of ``protocol`` takes it: a result encoded for version 2
    (naming what the device kept) loses ``cached`` for version 1, whose ``decode`` refuses
    the field. Why: the outbox keeps encoded results across reconnects, and an agent given
    several controllers may reconnect to one that is not upgraded yet."""
    if protocol >= 2 or '"cached":' not in frame:
        return frame
    message = decode(frame)
    if not isinstance(message, Result) or message.cached is None:
        return frame
    return encode(replace(message, cached=None))


def error_frame(activation_id: str, error: str) -> str:
    """The ``result`` frame of an activation the device's infrastructure failed."""
    return encode(Result(activation_id, error=error))
