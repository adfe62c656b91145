"""Between the pool's values and the tunnel's messages (the schema is ``edgewhisk_tunnel``).

Why logs may travel apart from the result: a ``result`` frame must stay under
``MAX_FRAME_BYTES`` with a 1 MiB result in it, while an action may write up to 10 MB of logs
(OpenWhisk's limit). Small logs ride inside the result's outcome; large ones go first as
``logs`` chunks of at most ``LOGS_CHUNK_BYTES`` each, and the outcome then carries none (the
controller appends chunks, then the outcome's lines, in order).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from edgewhisk_runtime.containers import ActionSpec, RunOutcome
from edgewhisk_tunnel import (
    FrameTooLarge,
    Logs,
    Message,
    Outcome,
    Produced,
    Result,
    RunSpec,
    encode,
)

INLINE_LOGS_BYTES = 256 * 1024
LOGS_CHUNK_BYTES = 1024 * 1024


def action_spec(spec: RunSpec) -> ActionSpec:
    """The wire spec as the pool's ``ActionSpec`` (same field names by design)."""
    return ActionSpec(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(RunSpec)})


_PRODUCED = frozenset(f.name for f in dataclasses.fields(Produced))


def outcome_of(run: RunOutcome, logs: Sequence[str]) -> Outcome:
    produced = tuple(Produced(**{k: v for k, v in item.items() if k in _PRODUCED})
                     for item in run.produced)
    return Outcome(status=run.status, response=run.response, logs=tuple(logs),
                   init_failed=run.init_failed, init_ms=run.init_ms,
                   duration_ms=run.duration_ms, container_id=run.container_id,
                   start_ms=run.start_ms, timed_out=run.timed_out, produced=produced)


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


def result_frames(activation_id: str, run: RunOutcome) -> list[Message]:
    """``logs`` chunks (only for large logs), then the ``result``; a result too large for a
    frame becomes an error result rather than a frame the controller would refuse."""
    frames: list[Message] = []
    inline = list(run.logs)
    if _size(inline) > INLINE_LOGS_BYTES:
        frames = [Logs(activation_id, tuple(chunk)) for chunk in chunk_lines(inline)]
        inline = []
    result = Result(activation_id, outcome=outcome_of(run, inline))
    try:
        encode(result)
    except FrameTooLarge as exc:
        result = Result(activation_id, error=f"the activation's result is too large for the "
                                             f"tunnel ({exc.size} bytes)")
    return [*frames, result]
