"""Results the controller has not yet confirmed: delivered at least once, accepted once.

Why an outbox: an activation keeps running when the tunnel drops, and its result must reach the
controller after the agent reconnects. Why acknowledgements by heartbeat: the protocol has no
per-result ack, but the controller reads a connection's frames in order with one reader task and
answers every heartbeat that is not ``quiet`` (the agent asks while a result ``awaiting`` its
confirmation), so the echo of a heartbeat sent *after* a result proves the result was
read. Until then a result stays here; when the connection is lost, unconfirmed results go back
to be sent again after re-registering (the controller deduplicates by activation id). Each result
is sent at most ``max_deliveries`` times so a controller that rejects it (say, it restarted and
forgot the activation) cannot make the agent loop. Ids here are listed in ``register.holding``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_DELIVERIES = 3


@dataclass
class Pending:
    activation_id: str
    frames: tuple[str, ...]    # encoded: optional logs chunks, then the result
    deliveries: int = 0
    sent_before_seq: int | None = None  # confirmed by the echo of heartbeat seq >= this
    late: bool = False  # finished while disconnected

    @property
    def eventful(self) -> bool:
        """Delivered after a reconnect (finished while disconnected, or sent again): what the
        agent's log tells at INFO; a result delivered at once is one per activation."""
        return self.late or self.deliveries > 1


class Outbox:
    def __init__(self, max_deliveries: int = MAX_DELIVERIES) -> None:
        self.max_deliveries = max_deliveries
        self._pending: dict[str, Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def ids(self) -> tuple[str, ...]:
        return tuple(self._pending)

    def add(self, activation_id: str, frames: Sequence[str], late: bool = False) -> None:
        self._pending.setdefault(activation_id, Pending(activation_id, tuple(frames),
                                                        late=late))

    def awaiting(self) -> bool:
        """Whether a result was sent and awaits the heartbeat answer that confirms it."""
        return any(p.sent_before_seq is not None for p in self._pending.values())

    def unsent(self) -> list[Pending]:
        """Entries to send now, oldest first."""
        return [p for p in self._pending.values() if p.sent_before_seq is None]

    def sent(self, activation_id: str, next_seq: int) -> None:
        """Written to the socket; confirmed by the echo of heartbeat ``next_seq`` or later."""
        pending = self._pending.get(activation_id)
        if pending is not None:
            pending.deliveries += 1
            pending.sent_before_seq = next_seq

    def confirmed(self, echoed_seq: int) -> list[Pending]:
        """The controller echoed heartbeat ``echoed_seq``: drop what it has read (returned)."""
        done = [p for p in self._pending.values()
                if p.sent_before_seq is not None and p.sent_before_seq <= echoed_seq]
        for pending in done:
            del self._pending[pending.activation_id]
        return done

    def connection_lost(self, refused: bool = False) -> list[str]:
        """Unconfirmed entries become unsent again; those sent ``max_deliveries`` times are
        dropped (returned), and so are all sent ones when the controller ``refused`` the
        connection's frames (closed it for a policy violation: it read them and said no, e.g.
        results of activations a restarted controller never gave this invoker)."""
        dropped = []
        for pending in list(self._pending.values()):
            if pending.sent_before_seq is None:
                continue
            if refused or pending.deliveries >= self.max_deliveries:
                dropped.append(pending.activation_id)
                del self._pending[pending.activation_id]
            else:
                pending.sent_before_seq = None
        return dropped
