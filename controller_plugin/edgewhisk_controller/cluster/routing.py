"""Routing: activations sent to the controller holding a device's tunnel, and their answers,
over Redis Streams; and requests others ask of it (a hand-off, a preload to its device).

Why streams and a consumer group: an entry of ``runs:HOLDER`` stays pending in the group until
the holder has answered it, and the group's last delivered entry says what the holder read, so
when it dies the others know which of their runs it may have started; replies go to
``replies:REQUESTER``, read by that controller alone. The requester waits for the reply at most
the action's time limit plus the tunnel's grace, like a direct ``RemoteInvoker``, and a holder
that is gone ends the wait at once with ``InvokerLost``: not started when the holder never read
it from its stream (it is placed again, and deleted from the stream in the same step that
tells so: the holder, started again under its id or seen gone while alive, reads on and
would run it a second time), else maybe started (an idempotent action is placed
again, any other is recorded as a whisk internal error, never run twice). That holds for a
run placed on the holder's device before its death was seen and sent after: the requester,
finding the holder gone once the run is in its stream, ends the wait the same way (else it
waited out its patience, and an acknowledged activation had no record for that long).

An answered entry is acknowledged and deleted in one round trip, so a holder's stream holds
only what is in flight (acknowledged entries stay in a stream until deleted: it would grow by
one frame per forwarded activation for ever). A holder that starts again under its id before
the others saw it gone answers at once what its previous run had read and never answered
(maybe started, as if it had died): nobody else would, and the requesters would wait out
their patience.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from edgewhisk_runtime.containers import RunOutcome
from edgewhisk_tunnel import ProtocolError, Result, Run, decode, encode

from ..artifacts.exceptions import StagingFailed
from ..background import Tasks
from ..invokers.interface import Invoker
from ..stores import Doc
from ..tunnel.exceptions import InvokerLost, TunnelError
from ..tunnel.twins import run_outcome
from . import keys
from .claims import Claims
from .peer import PeerInvoker
from .wire import action_spec, outcome_of

log = logging.getLogger(__name__)

READ_BLOCK_MS = 1000
BATCH = 64
REPLIES_KEPT = 10_000
"""Replies a stream keeps (approximately): a requester reads its own at once."""
PRELOAD = "preload"
PRELOAD_S = 300.0
"""How long a preload to a peer's device waits for its holder's answer (the artifact's bytes
go down the device's tunnel meanwhile: a large model on a slow link takes minutes)."""

@dataclass
class _Waiting:
    """A forwarded activation waiting for its reply."""

    holder: str
    reply: asyncio.Future[tuple[str, str]]
    device: str
    entry: str | None = None  # its entry in the holder's stream, once added


UNREAD = """
local last
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, delivered
  for i = 1, #group, 2 do
    if group[i] == 'name' then name = group[i + 1]
    elseif group[i] == 'last-delivered-id' then delivered = group[i + 1] end
  end
  if name == ARGV[1] then last = delivered end
end
if not last then return {} end
local function key(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local last_ms, last_seq = key(last)
local unread = {}
for i = 2, #ARGV do
  local ms, seq = key(ARGV[i])
  if ms > last_ms or (ms == last_ms and seq > last_seq) then
    redis.call('XDEL', KEYS[1], ARGV[i])
    table.insert(unread, ARGV[i])
  end
end
return unread
"""
"""Of the entries ``ARGV[2..]`` of a dead holder's run stream (``KEYS[1]``), those its group
(``ARGV[1]``) never delivered, deleted in the same step: none if the group is unknown (each
then counts maybe started)."""


class Routing:
    def __init__(self, me: str, redis: Any, device: Callable[[str], Invoker | None],
                 claims: Claims, corrected: Callable[[str, int], None],
                 alive: Callable[[str], bool] = lambda holder: True) -> None:
        """``device``: the online device of this controller with that id, if any;
        ``corrected(id, free_mb)``: a conflict told the device's real free memory;
        ``alive(holder)``: whether membership counts that controller live."""
        self.me = me
        self.alive = alive
        self.redis = redis
        self.device = device
        self.claims = claims
        self.corrected = corrected
        self.serving: set[str] = set()  # activation ids run here for another controller
        self.waiting: dict[str, _Waiting] = {}  # activation id -> what waits for its reply
        self.served = 0
        self.forwarded = 0
        self._tasks = Tasks("cluster routing")
        self._unread_script = redis.register_script(UNREAD)
        self.last_reply: str | None = None  # the last reply read (None: not started)
        self._inherited = False  # what this id's previous run read and never answered: done
        self.requests: dict[str, Callable[[dict[str, str]], Awaitable[str]]] = {
            PRELOAD: self._preload}
        """What answers each kind of request others ``ask`` this controller (by name)."""

    # -- the requester's side ---------------------------------------------------------------

    async def forward(self, peer: PeerInvoker, activation_id: str, frame: str,
                      patience_s: float, memory_mb: int, queue: int = 0) -> RunOutcome:
        """Claim ``memory_mb`` on ``peer`` (``claims.py``; ``queue``: the waiting slots this
        placement may take, when it queued there knowingly), send ``frame`` to its holder and
        release the claim once it answered; its outcome, or the error it ended with. A claim
        that does not fit ends it at once with ``InvokerLost`` (not started: the dispatcher
        places it again, on the corrected view)."""
        try:
            claim = await self.claims.claim(peer.id, memory_mb, queue)
        except Exception as exc:
            raise _unsent(peer.id, exc) from None
        if not claim.ok and claim.known:
            self.corrected(peer.id, max(0, claim.capacity_mb - claim.used_mb))
            raise InvokerLost(peer.id, f"another controller claimed its "
                                       f"{'waiting slots' if queue else 'memory'} first "
                                       f"({claim.used_mb} of {claim.capacity_mb} MB held)",
                              maybe_started=False)
        try:
            return await self._forward(peer, activation_id, frame, patience_s)
        finally:
            if claim.ok:
                await self.claims.release(peer.id, memory_mb, claim.queued)

    async def _forward(self, peer: PeerInvoker, activation_id: str, frame: str,
                       patience_s: float) -> RunOutcome:
        with self._waiting(activation_id, peer.holder, peer.id) as waiting:
            try:
                waiting.entry = await self.redis.xadd(
                    keys.runs(peer.holder), {"frame": frame, "device": peer.id,
                                             "reply": self.me})
            except Exception as exc:
                raise _unsent(peer.id, exc) from None
            self.forwarded += 1
            kind, text = await self._reply(waiting, patience_s)
        return _answer(peer.id, kind, text)

    @contextlib.contextmanager
    def _waiting(self, key: str, holder: str, device: str) -> Iterator[_Waiting]:
        """A reply about ``key`` from ``holder`` waited for while the block runs (the reply
        loop, ``read_replies``, settles it; ``_lost_to`` ends it if ``holder`` dies)."""
        future: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self.waiting[key] = waiting = _Waiting(holder, future, device)
        try:
            yield waiting
        finally:
            self.waiting.pop(key, None)

    async def _reply(self, waiting: _Waiting, patience_s: float) -> tuple[str, str]:
        """``waiting``'s reply, ``InvokerLost`` once ``patience_s`` is over or its holder is
        gone (``_lost_to``)."""
        if not self.alive(waiting.holder):  # it died while this was on its way, and
            # holder_gone's scan ran before this waited: nobody else ends the wait
            self._tasks.spawn(self._lost_to(waiting.holder))
        try:
            return await asyncio.wait_for(asyncio.shield(waiting.reply), patience_s)
        except TimeoutError:
            raise InvokerLost(waiting.device, f"no answer from controller {waiting.holder} "
                                              f"within {patience_s:g} s") from None

    async def expect(self, activation_id: str, holder: str, device: str,
                     patience_s: float) -> RunOutcome:
        """The outcome controller ``holder`` sends about ``activation_id``, a run this
        controller had sent ``device`` itself and handed over to ``holder`` with the device
        (``handoff.py``), waited for as a forwarded run's reply is."""
        with self._waiting(activation_id, holder, device) as waiting:
            kind, text = await self._reply(waiting, patience_s)
        return _answer(device, kind, text)

    async def ask(self, holder: str, request: str, fields: dict[str, str],
                  within_s: float) -> str | None:
        """Send ``holder`` a ``request`` (an entry of its run stream that is not a run,
        handled by its ``requests[request]``) and wait up to ``within_s`` for its answer's
        text; None if none came in time or the holder is gone."""
        asked = f"{request}:{uuid.uuid4().hex}"
        with self._waiting(asked, holder, fields.get("device", "")) as waiting:
            await self.redis.xadd(keys.runs(holder), {**fields, "request": request,
                                                      "id": asked, "reply": self.me})
            try:
                return (await self._reply(waiting, within_s))[1]
            except InvokerLost:
                return None

    async def preload(self, peer: PeerInvoker, doc: Doc) -> str:
        """Push ``doc`` to ``peer``'s device through the controller holding its tunnel:
        ``preloaded`` or ``cached``; ``StagingFailed`` with the holder's reason, or when it
        does not answer within ``PRELOAD_S``."""
        text = await self.ask(peer.holder, PRELOAD, {"device": peer.id,
                                                     "doc": json.dumps(doc)}, PRELOAD_S)
        if text is None:
            raise StagingFailed(f"controller {peer.holder}, which holds invoker {peer.id!r}, "
                                f"did not answer the preload within {PRELOAD_S:g} s")
        answer = json.loads(text)
        if "refused" in answer:
            raise StagingFailed(str(answer["refused"]))
        return str(answer["status"])

    def holder_gone(self, holder: str) -> None:
        """``holder`` died: what waits for its answers ends with ``InvokerLost``."""
        self._tasks.spawn(self._lost_to(holder))

    async def _lost_to(self, holder: str) -> None:
        """An activation the holder never read from its stream never started: it may be
        placed again, idempotent or not; one it read may have run (at most once)."""
        waiting = [w for w in self.waiting.values() if w.holder == holder and not w.reply.done()]
        if not waiting:
            return
        dropped = await self._unread(holder, [w.entry for w in waiting if w.entry is not None])
        for w in waiting:
            unread = w.entry in dropped
            if not w.reply.done():
                w.reply.set_exception(InvokerLost(
                    w.device, f"its controller {holder} is gone"
                    + (" before reading the activation" if unread else ""),
                    maybe_started=not unread))

    async def _unread(self, holder: str, entries: list[str]) -> set[str]:
        """Of ``entries``, those ``holder`` never read from its run stream, deleted from it in
        the same step (``UNREAD``): counted not started, they are placed again, and the holder
        must never read them then: it may start again under its id and read on, or live on
        unseen (its connections re-dialled), and run them a second time. Unknown (Redis's
        errors): none, each counting maybe started."""
        if not entries:
            return set()
        try:
            return set(await self._unread_script(keys=[keys.runs(holder)],
                                                 args=[keys.GROUP, *entries]))
        except Exception:  # redis' errors: count everything as maybe started
            return set()

    async def read_replies(self) -> None:
        """The loop reading this controller's reply stream, from what comes after its start
        (older replies were for a previous run of this id, whose waits are gone). They stay:
        the controller that took that run over may not have read them yet (``reply_to``);
        deleting the stream here lost the answers sent in the meantime. ``REPLIES_KEPT``
        bounds it."""
        stream = keys.replies(self.me)
        if self.last_reply is None:  # this run's first read (not a retry after an error)
            newest = await self.redis.xrevrange(stream, count=1)
            self.last_reply = newest[0][0] if newest else "0-0"
        while True:
            last = self.last_reply
            found = await self.redis.xread({stream: last}, count=BATCH, block=READ_BLOCK_MS)
            for _, entries in found or ():
                for entry_id, fields in entries:
                    self.last_reply = entry_id
                    waiting = self.waiting.get(fields.get("id", ""))
                    if waiting is not None and not waiting.reply.done():
                        waiting.reply.set_result((fields["kind"], fields["text"]))

    async def reply_to(self, dead: str, activation_id: str, device: str,
                       within_s: float, *also: str,
                       gone: Callable[[], bool] = lambda: False,
                       since: str = "0-0") -> RunOutcome:
        """The answer a holder sent to controller ``dead`` (which died waiting for it), or to
        any of ``also``, about ``activation_id``, waited for up to ``within_s``, or until
        ``gone()`` says the holder died without it: a takeover records it. ``since``: the
        streams' entry after which to look (an answer cannot be older than its run)."""
        last = {keys.replies(c): since for c in (dead, *also)}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        ended = False
        while (left := deadline - loop.time()) > 0:
            ended = ended or gone()  # then one more read: it may have answered, then died
            found = await self.redis.xread(
                last, count=BATCH, block=None if ended else max(1, int(min(left, 1.0) * 1000)))
            for stream, entries in found or ():
                for entry_id, fields in entries:
                    last[stream] = entry_id
                    if fields.get("id") == activation_id:
                        return _answer(device, fields["kind"], fields["text"])
            if ended and not found:
                raise InvokerLost(device, f"the controller holding it died before it sent "
                                          f"controller {dead}, which died too, an answer")
        raise InvokerLost(device, f"no answer about it reached controller {dead}, which "
                                  f"died, within {within_s:g} s")

    # -- the holder's side ------------------------------------------------------------------

    async def serve(self) -> None:
        """The loop reading what others sent for the devices this controller holds."""
        stream = keys.runs(self.me)
        try:
            await self.redis.xgroup_create(stream, keys.GROUP, id="$", mkstream=True)
        except Exception as exc:  # BUSYGROUP: it exists from a previous run
            if "BUSYGROUP" not in str(exc):
                raise
        if not self._inherited:  # this run's first read (not a retry after an error)
            await self._answer_previous(stream)
            self._inherited = True
        while True:
            found = await self.redis.xreadgroup(keys.GROUP, self.me, {stream: ">"},
                                                count=BATCH, block=READ_BLOCK_MS)
            for _, entries in found or ():
                for entry_id, fields in entries:
                    self._tasks.spawn(self._run(stream, entry_id, fields))

    async def _answer_previous(self, stream: str) -> None:
        """Answer what this id's previous run read and never answered (its pending entries,
        read before this run reads any): maybe started, it died running them."""
        last = "0"
        while True:
            found = await self.redis.xreadgroup(keys.GROUP, self.me, {stream: last},
                                                count=BATCH)
            entries = [entry for _, listed in found or () for entry in listed]
            if not entries:
                return
            for entry_id, fields in entries:
                last = entry_id
                run = _run_of(fields) if fields and "request" not in fields else None
                if run is not None:
                    await self.answer(fields["reply"], run.activation_id, "lost",
                                      f"its controller {self.me} restarted while it ran")
                await self._done(stream, entry_id)

    async def _run(self, stream: str, entry_id: str, fields: dict[str, str]) -> None:
        if "request" in fields:
            try:
                await self._request(fields)
            finally:  # answered or not (logged), it stays in no stream
                await self._done(stream, entry_id)
            return
        message = _run_of(fields)
        if message is None:
            await self._done(stream, entry_id)
            return
        self.serving.add(message.activation_id)
        try:
            kind, text = await self._outcome(fields.get("device", ""), message)
        finally:
            self.serving.discard(message.activation_id)
        await self.answer(fields["reply"], message.activation_id, kind, text)
        await self._done(stream, entry_id)
        self.served += 1

    async def _request(self, fields: dict[str, str]) -> None:
        """Answer another controller's ``ask``. One this controller cannot answer (unknown,
        without the address of its answer, or its handler failing on what it carries) is
        logged and left unanswered: its asker waits out its ``within_s``."""
        name, asker = fields["request"], fields.get("reply")
        handler = self.requests.get(name)
        if handler is None or "id" not in fields or asker is None:
            log.error("cluster: dropped %s request %r from %s",
                      "an unknown" if handler is None else "a malformed", name, asker)
            return
        try:
            text = await handler(fields)
        except Exception:  # a bug, or a request missing what its handler reads
            log.exception("cluster: the %r request from %s failed", name, asker)
            return
        await self.answer(asker, fields["id"], name, text)

    async def _preload(self, fields: dict[str, str]) -> str:
        """``preload`` from a controller whose selector picked a device held here: pushed
        down its tunnel as a preload asked here is; the answer says how it went."""
        device = self.device(fields["device"])
        if device is None:
            return json.dumps({"refused": f"invoker {fields['device']!r} is not connected to "
                                          f"controller {self.me}"})
        try:
            return json.dumps({"status": await device.preload(json.loads(fields["doc"]))})
        except Exception as exc:  # refused or failed: the device's answer, not a fault here
            return json.dumps({"refused": str(exc)})

    async def _done(self, stream: str, entry_id: str) -> None:
        """The entry is answered: acknowledged and deleted, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(stream, keys.GROUP, entry_id)
        pipe.xdel(stream, entry_id)
        await pipe.execute()

    async def answer(self, requester: str, activation_id: str, kind: str, text: str) -> None:
        """Send ``requester`` the answer about ``activation_id`` (``settled``'s pair)."""
        await self.redis.xadd(keys.replies(requester),
                              {"id": activation_id, "kind": kind, "text": text},
                              maxlen=REPLIES_KEPT, approximate=True)

    async def _outcome(self, device_id: str, run: Run) -> tuple[str, str]:
        device = self.device(device_id)
        if device is None:
            return "unsent", f"it is not connected to controller {self.me}"
        return await settled(run.activation_id, device.run(
            action_spec(run.spec), run.value, run.fields, consumes=run.consumes,
            produces=run.produces))

    async def close(self) -> None:
        await self._tasks.close()


async def settled(activation_id: str, running: Awaitable[RunOutcome]) -> tuple[str, str]:
    """How a run ended, as a reply carries it: ``(kind, text)``, read back by ``_answer``."""
    try:
        outcome = await running
    except InvokerLost as exc:
        return ("lost" if exc.maybe_started else "unsent"), exc.why
    except TunnelError as exc:
        return "failed", exc.message
    except Exception as exc:  # staging and kin: the requester records it as whisk error
        return "failed", str(exc)
    return "outcome", encode(Result(activation_id, outcome=outcome_of(outcome)))


def _run_of(fields: dict[str, str]) -> Run | None:
    """The run an entry of a holder's stream carries; None (logged) when it is malformed."""
    try:
        message = decode(fields["frame"])
        if not isinstance(message, Run):
            raise ProtocolError(f"a {message.TYPE} where a run was expected")
        if "reply" not in fields:
            raise ProtocolError("a run without the stream its answer goes to")
    except (ProtocolError, KeyError) as exc:
        log.error("cluster: dropped a malformed run from %s: %s", fields.get("reply"), exc)
        return None
    return message


def _unsent(device: str, exc: Exception) -> InvokerLost:
    """Redis failed (redis' errors) before the run left this controller: not started, so the
    dispatcher places it again."""
    return InvokerLost(device, f"the cluster's Redis failed: {exc}", maybe_started=False)


def _answer(device: str, kind: str, text: str) -> RunOutcome:
    """The reply's outcome, or the exception the holder's invoker raised, raised again."""
    if kind == "outcome":
        result = decode(text)
        if isinstance(result, Result) and result.outcome is not None:
            return run_outcome(result.outcome)
        raise TunnelError(device, f"a malformed answer about invoker {device!r}")
    if kind in ("lost", "unsent"):
        raise InvokerLost(device, text, maybe_started=kind == "lost")
    raise TunnelError(device, text)
