"""The controller's half of the wire/local twins: tunnel messages to and from its own values.

Why a module of its own: every value a device and the controller exchange has a twin on each
side (a run's ``ActionSpec`` is the wire's ``RunSpec``, the pool's ``RunOutcome`` an
``Outcome``, the runtime's ``ProducedArtifact`` a ``Produced``, its ``GateVerdict`` a
``Verdict``, and a ``register`` plus the
latest ``metrics`` and ``context`` reports become the placement engine's ``InvokerState``).
The tunnel's schema imports nothing of ours, so the conversions live on the sides that may
import both: here, once per twin and direction, and on a device in ``edgewhisk_invoker.frames``.
``tests/tunnel/test_parity.py`` checks the two halves against each other: the same fields (the
documented exceptions are listed there) and a value surviving both halves and the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from edgewhisk_runtime.artifacts import GateVerdict, ProducedArtifact
from edgewhisk_runtime.containers import ActionSpec, RunOutcome
from edgewhisk_tunnel import (
    Consumed,
    FrameTooLarge,
    Metrics,
    Outcome,
    Produce,
    Produced,
    Register,
    Run,
    RunSpec,
    Verdict,
    encode,
)

from ..artifacts.keys import cached_name
from ..placement.interface import InvokerState
from .exceptions import NotDeliverable

DEFAULT_BANDWIDTH_MBPS = 100.0
"""A device's bandwidth when its ``register`` does not say."""

CONTEXT_COLUMNS = ("battery", "charging", "idle", "metered")
"""The live context a ``register`` or a ``context`` report sets (``policy.context``)."""
REGISTER_COLUMNS = ("kinds", "memory_mb", "role", "owner", "site", "labels", "capabilities",
                    "networks", "bandwidth_mbps", "cached", *CONTEXT_COLUMNS)
"""The ``InvokerState`` columns a ``register`` sets besides ``id``: what the engine hears
again when a known device registers anew."""


def run_spec(spec: ActionSpec, *, omit_code: bool = False) -> RunSpec:
    """The pool's spec as a ``run`` carries it (the same fields by design; no code when
    ``omit_code``)."""
    return RunSpec(key=spec.key, kind=spec.kind, code=None if omit_code else spec.code,
                   binary=spec.binary, main=spec.main, image=spec.image, env=spec.env,
                   memory_mb=spec.memory_mb, timeout_ms=spec.timeout_ms,
                   concurrency=spec.concurrency, logs_mb=spec.logs_mb)


def run_message(spec: ActionSpec, value: Any, fields: Mapping[str, str],
                consumes: Sequence[Consumed], produces: Sequence[Produce], *,
                omit_code: bool = False) -> Run:
    """The ``run`` of one activation, with its code unless ``omit_code`` (protocol 2: the
    device has it). Built directly either way: a frozen copy without the code costs more
    than a small action's code saves."""
    return Run(fields["activation_id"], run_spec(spec, omit_code=omit_code), dict(value),
               dict(fields), consumes=tuple(consumes), produces=tuple(produces),
               code_omitted=omit_code)


def run_frame(invoker_id: str, spec: ActionSpec, value: Any, fields: Mapping[str, str],
              consumes: Sequence[Consumed], produces: Sequence[Produce]) -> str:
    """The ``run`` frame of one activation for invoker ``invoker_id`` (down its tunnel, or to
    the controller holding it); ``NotDeliverable`` when it is over the frame limit."""
    return encode_run(invoker_id, run_message(spec, value, fields, consumes, produces))


def encode_run(invoker_id: str, run: Run) -> str:
    """``run``'s frame; ``NotDeliverable`` when it is over the frame limit."""
    try:
        return encode(run)
    except FrameTooLarge as exc:
        raise NotDeliverable(invoker_id, f"The activation cannot be sent to invoker "
                                         f"{invoker_id!r}: {exc.reason}") from None


def produced_artifact(produced: Produced) -> ProducedArtifact:
    """A produced artifact a device reports, as the registry's ``produce.register`` reads it."""
    return ProducedArtifact(name=produced.name, kind=produced.kind, ref=produced.ref,
                            format=produced.format, size=produced.size, sha256=produced.sha256,
                            locality=produced.locality, upload=produced.upload,
                            metadata=produced.metadata, metrics=produced.metrics)


def gate_verdict(verdict: Verdict) -> GateVerdict:
    """A gate verdict a device reports, as the controller's gates module reads it."""
    return GateVerdict(gate=verdict.gate, type=verdict.type, target=verdict.target,
                       metric=verdict.metric, predicate=verdict.predicate, value=verdict.value,
                       fired=verdict.fired, source=verdict.source, rows=verdict.rows,
                       detail=verdict.detail, error=verdict.error)


def run_outcome(outcome: Outcome, chunked: Sequence[str] = ()) -> RunOutcome:
    """The pool's outcome of a ``result``; ``chunked``: the log lines that came first in
    ``logs`` frames (the outcome's own lines follow them)."""
    return RunOutcome(status=outcome.status, response=outcome.response,
                      logs=[*chunked, *outcome.logs], init_failed=outcome.init_failed,
                      init_ms=outcome.init_ms, duration_ms=outcome.duration_ms,
                      container_id=outcome.container_id, start_ms=outcome.start_ms,
                      timed_out=outcome.timed_out,
                      produced=tuple(produced_artifact(p) for p in outcome.produced),
                      gates=tuple(gate_verdict(v) for v in outcome.gates))


def invoker_state(register: Register, metrics: Metrics, *, namespace: str, healthy: bool,
                  in_flight: int, held_mb: int, networks: Iterable[str] | None,
                  holds: Iterable[str], context: Mapping[str, Any] | None = None
                  ) -> InvokerState:
    """A device's placement state from its ``register`` and its latest reports.

    Free memory is what ``metrics`` last said, else its memory less ``held_mb`` (what the
    activations pending on it hold); ``in_flight`` is the controller's own count (a device's
    report lags the runs sent since); ``networks`` the latest ``context`` report (None: the
    register's); ``cached`` the registry names of the keys it ``holds`` (``cached_name``);
    battery, charging, idle and metered the latest ``context`` report's (``context``), else
    the register's."""
    free = metrics.free_memory_mb
    reported = context or {}
    return InvokerState(
        id=register.id,
        kinds=frozenset(register.kinds),
        memory_mb=register.memory_mb,
        free_memory_mb=max(0, register.memory_mb - held_mb) if free is None else free,
        in_flight=in_flight,
        healthy=healthy,
        namespaces=frozenset({namespace}),
        role=register.role,
        owner=register.owner,
        site=register.site,
        labels=dict(register.labels),
        capabilities=frozenset(register.capabilities),
        networks=frozenset(register.networks if networks is None else networks),
        bandwidth_mbps=register.bandwidth_mbps or DEFAULT_BANDWIDTH_MBPS,
        cached=frozenset(cached_name(key) for key in holds),
        **{name: reported.get(name, getattr(register, name)) for name in CONTEXT_COLUMNS},
    )


def store_of(values: Mapping[str, float]) -> dict[str, int] | None:
    """The device's node store as its agent pushes it in ``Metrics.values``
    (``edgewhisk_invoker.frames.metrics_values``); None from an agent that predates it."""
    if "store_used_bytes" not in values:
        return None
    return {"used_bytes": int(values["store_used_bytes"]),
            "capacity_bytes": int(values.get("store_capacity_bytes", 0))}
