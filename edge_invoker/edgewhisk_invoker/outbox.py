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
    added: int = 0  # the outbox's order of addition

    @property
    def eventful(self) -> bool:
        """Delivered after a reconnect (finished while disconnected, or sent again): what the
        agent's log tells at INFO; a result delivered at once is one per activation."""
        return self.late or self.deliveries > 1


class Outbox:
    """Why two tables (unsent, and sent awaiting their confirmation), each in the order the
    results were added: at saturation a second's results await the next heartbeat's answer,
    and a result sent, a run received or a heartbeat asking must not scan all of them (a scan
    per activation made the agent's cost grow with its rate)."""

    def __init__(self, max_deliveries: int = MAX_DELIVERIES) -> None:
        self.max_deliveries = max_deliveries
        self._unsent: dict[str, Pending] = {}
        self._awaiting: dict[str, Pending] = {}
        self._added = 0  # order of addition: "oldest first" across both tables
        self.generation = 0  # connections lost so far: which connection a send went out on

    def __len__(self) -> int:
        return len(self._unsent) + len(self._awaiting)

    def __contains__(self, activation_id: str) -> bool:
        return activation_id in self._unsent or activation_id in self._awaiting

    def ids(self) -> tuple[str, ...]:
        return tuple(p.activation_id for p in self._oldest_first())

    def add(self, activation_id: str, frames: Sequence[str], late: bool = False) -> None:
        if activation_id not in self:
            self._added += 1
            self._unsent[activation_id] = Pending(activation_id, tuple(frames), late=late,
                                                  added=self._added)

    def awaiting(self) -> bool:
        """Whether a result was sent and awaits the heartbeat answer that confirms it."""
        return bool(self._awaiting)

    def unsent(self) -> list[Pending]:
        """Entries to send now, oldest first."""
        return list(self._unsent.values())

    def sent(self, activation_id: str, next_seq: int, generation: int | None = None) -> None:
        """Written to the socket; confirmed by the echo of heartbeat ``next_seq`` or later.
        ``generation``: :attr:`generation` when the send began; a send that ended after its
        connection was lost is ignored (the entry stays unsent), else the next connection's
        first echo would confirm a result it never carried."""
        if generation is not None and generation != self.generation:
            return
        pending = self._unsent.pop(activation_id, None)
        if pending is not None:
            pending.deliveries += 1
            pending.sent_before_seq = next_seq
            self._awaiting[activation_id] = pending

    def confirmed(self, echoed_seq: int) -> list[Pending]:
        """The controller echoed heartbeat ``echoed_seq``: drop what it has read (returned)."""
        done = [p for p in self._awaiting.values()
                if p.sent_before_seq is not None and p.sent_before_seq <= echoed_seq]
        for pending in done:
            del self._awaiting[pending.activation_id]
        return done

    def connection_lost(self, refused: bool = False) -> list[str]:
        """Unconfirmed entries become unsent again; those sent ``max_deliveries`` times are
        dropped (returned), and so are all sent ones when the controller ``refused`` the
        connection's frames (closed it for a policy violation: it read them and said no, e.g.
        results of activations a restarted controller never gave this invoker)."""
        self.generation += 1
        dropped = []
        for pending in self._awaiting.values():
            if refused or pending.deliveries >= self.max_deliveries:
                dropped.append(pending.activation_id)
            else:
                pending.sent_before_seq = None
                self._unsent[pending.activation_id] = pending
        self._awaiting = {}
        self._unsent = {p.activation_id: p for p in sorted(self._unsent.values(),
                                                           key=lambda p: p.added)}
        return dropped

    def _oldest_first(self) -> list[Pending]:
        return sorted([*self._unsent.values(), *self._awaiting.values()], key=lambda p: p.added)
