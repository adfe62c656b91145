"""Handoff: a device leaves a live controller for another of the cluster; the results it holds
for the runs the first one sent it reach that one, instead of being dropped.

Why: when its link to its controller breaks, a device dials the next controller of its list
(or a load balancer sends its new connection to any), though the controller it left lives on.
The controller it registered with did not know the runs it held, and dropped their results as
unknown; the one it left waited for the device until it counted offline, then recorded each
run lost (a non-idempotent one failed with a whisk internal error, an idempotent one ran
again): acknowledged work lost to a blip of one link. A dead holder's runs were taken over
and adopted (``takeover.py``, ``adoption.py``); a live one's were not.

How: before the registration is handled, the controller the device registers with asks the
one it left (``Routing.ask``: a ``handoff`` request in that one's run stream). That one gives
up the runs it had sent the device (``TunnelHub.hand_off``: the device counts gone there, what
it had not sent yet is placed again, never started), answers their list, and waits for each
one's outcome on its reply stream as for a run it forwarded (``Routing.expect``), for what is
left of the run's patience. The asker adopts them into its hub as a takeover's runs are
adopted (``Adoption.take``): the device's result ends each, and its outcome goes back. A
holder that does not answer within ``ASK_S`` (stalled: it renews its key but does not read its
stream) leaves the registration to go on without them, their results dropped as before.

The runs handed over are also listed in Redis, as a takeover lists what it waits for
(``Adoption.list_handed``), before the answer: when the controller they were handed to dies
before they end and the device registers with a third one, that one adopts them from the list
(``Adoption.take_listed``) and answers here; before, only a device coming back here could
deliver their results, and elsewhere they were recorded failed once this hub's window for the
device was over. A run that ends here leaves the list.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from edgewhisk_runtime.containers import RunOutcome

from ..background import Tasks
from ..tunnel.exceptions import InvokerLost
from ..tunnel.patience import RESULT_GRACE_S
from ..tunnel.pending import Pending
from .adoption import Adoption, described
from .routing import Routing

log = logging.getLogger(__name__)

REQUEST = "handoff"
ASK_S = 2.0
"""How long a registration waits for the controller the device left to hand its runs over
(a live one answers within milliseconds)."""

GiveUp = Callable[[str, str], "list[tuple[str, Pending]]"]
"""A hub's ``TunnelHub.hand_off``: ``(device, to)`` -> the runs it gave up, by activation id."""


@dataclass
class _Away:
    """A run this controller handed over with its device, waiting for its outcome."""

    pending: Pending
    to: str  # the controller it was handed to
    since: str  # this controller's last reply read then: the run's answers all come after
    back: asyncio.Future[RunOutcome] | None = None  # waited for here again: ``to`` died


def _settle(pending: Pending, outcome: RunOutcome | BaseException) -> None:
    """End ``pending`` with ``outcome``, unless it ended already (first wins)."""
    if pending.future.done():
        return
    if isinstance(outcome, BaseException):
        pending.future.set_exception(outcome)
    else:
        pending.future.set_result(outcome)


def _left(pending: Pending) -> float:
    """What is left of ``pending``'s patience (its time limit and the result grace)."""
    if pending.deadline is None:
        return RESULT_GRACE_S
    return max(0.0, pending.deadline - asyncio.get_running_loop().time())


class Handoff:
    def __init__(self, me: str, routing: Routing, adoption: Adoption) -> None:
        self.me = me
        self.routing = routing
        self.adoption = adoption
        self.hub: GiveUp | None = None
        """This controller's ``TunnelHub.hand_off`` (set when it joins)."""
        self.handed = 0  # runs this controller handed over with their devices
        self.taken = 0  # runs it took over from the controller a device left
        self._relays = Tasks("cluster handoff")
        self._away: dict[str, dict[str, _Away]] = {}  # device -> activation id -> handed run
        self._registered: dict[str, int] = {}
        """Device -> the number of its latest registration here (``keys.REGISTRATIONS``):
        which of two registrations of a device, here and at an asker, is the later."""
        routing.requests[REQUEST] = self._give

    def registering(self, device: str, number: int) -> None:
        """``device`` registers here, its ``number``-th registration with the cluster."""
        self._registered[device] = number

    # -- the controller the device registers with -------------------------------------------

    async def ask(self, device: str, holder: str) -> set[str]:
        """``device`` registers here, having left ``holder``, which lives: adopt the runs
        ``holder`` had sent it (before the registration is handled); their ids. What this
        one handed over with the device comes back here first, but for what it handed to
        ``holder``, which hands that back too (``returning``)."""
        self.returning(device, asked=holder)
        text = await self.routing.ask(holder, REQUEST, {
            "device": device, "registration": str(self._registered.get(device, 0))}, ASK_S)
        if text is None:
            log.warning("controller %s did not hand over device %s within %g s: the results "
                        "the device holds for its runs are dropped", holder, device, ASK_S)
            self.returning(device)  # what this one handed it comes back all the same
            return set()
        runs = json.loads(text)
        for activation_id, want in runs.items():
            self.adoption.take(device, activation_id, want)
        if runs:
            log.info("took %d run(s) of device %s over from controller %s, which it left",
                     len(runs), device, holder)
        self.taken += len(runs)
        return set(runs)

    # -- the controller the device left -----------------------------------------------------

    async def _give(self, fields: dict[str, str]) -> str:
        """``handoff`` from the controller ``device`` registered with: the runs sent to the
        device here, given up and described for it to adopt; their outcomes awaited from it."""
        device, to = fields["device"], fields["reply"]
        if self._stale(device, to, int(fields.get("registration") or 0)):
            return json.dumps({})
        self._registered.pop(device, None)
        handed = self.hub(device, to) if self.hub is not None else []
        runs = {activation_id: described(self.me, p.memory_mb, p.logs_limit, p.produces)
                for activation_id, p in handed}
        try:  # before ``to`` adopts them: it may die before they end
            await self.adoption.list_handed(device, runs)
        except Exception:
            log.exception("listing the runs of device %s handed to controller %s failed: "
                          "should it die holding them, only here can take their results",
                          device, to)
        since = self.routing.last_reply or "0-0"  # their answers all come after this
        for activation_id, pending in handed:
            self._relays.spawn(self._relay(activation_id, pending, to, device, since))
        if handed:
            log.info("handed %d run(s) of device %s over to controller %s, where it "
                     "registered", len(handed), device, to)
        self.handed += len(handed)
        return json.dumps(runs)

    def _stale(self, device: str, to: str, asked: int) -> bool:
        """Whether the handoff ``to`` asks about ``device`` (at its ``asked``-th registration)
        is older than the device's registration here: it gave up waiting at ``to`` and came
        back (a registration there may be held for seconds, ``Membership.dead``). Handing it
        off then closed the device's fresh connection here, and it had to dial again. 0: an
        asker of an earlier release, which does not say."""
        here = self._registered.get(device, 0)
        if not asked or asked > here:
            return False
        log.info("controller %s asked for device %s at its registration %d, older than its "
                 "registration %d here: nothing handed over", to, device, asked, here)
        return True

    async def _relay(self, activation_id: str, pending: Pending, to: str, device: str,
                     since: str) -> None:
        """The outcome ``to`` sends ends the run as the device's result would have here (or
        the outcome of a controller that adopted it from the listing, should the device
        leave ``to`` while this one thinks it there); if ``to`` dies first, the device
        bringing the result back here does (``_back``), or the controller it registers with
        instead, which adopts it (``_adopted``)."""
        away = self._away.setdefault(device, {})[activation_id] = _Away(pending, to, since)
        pending.future.add_done_callback(lambda _: self._relays.spawn(
            self.adoption.unlist(device, activation_id)))  # ended: its listing goes
        try:
            outcome = await self.routing.expect(activation_id, to, device, _left(pending))
        except asyncio.CancelledError:
            _settle(pending, InvokerLost(device, "the controller is shutting down"))
            raise
        except InvokerLost as exc:
            if away.back is None and self.routing.alive(to):
                _settle(pending, exc)
            else:  # back here, or ``to`` died holding it: the device's return settles it
                self._back(device, activation_id, away)
                if not self.routing.alive(to):
                    await self._adopted(device, activation_id, away)
        except Exception as exc:  # TunnelError: the run's own outcome
            _settle(pending, exc)
        else:
            _settle(pending, outcome)
        finally:
            runs = self._away.get(device, {})
            runs.pop(activation_id, None)
            if not runs:
                self._away.pop(device, None)

    async def _adopted(self, device: str, activation_id: str, away: _Away) -> None:
        """The answer of a controller the device registered with that adopted the run from
        its listing (``Adoption.take_listed``) ends it, unless something else did first
        (the device back here, ``_back``). Read from the reply stream from ``away.since``
        on: it may have answered before this one saw ``away.to`` die."""
        pending, patience_s = away.pending, _left(away.pending)
        answer = asyncio.ensure_future(self.routing.reply_to(
            self.me, activation_id, device, patience_s, since=away.since))
        try:
            await asyncio.wait((answer, pending.future), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not answer.done():
                answer.cancel()  # ended otherwise first
        if not answer.done() or answer.cancelled():
            return
        failed = answer.exception()
        if failed is None:
            _settle(pending, answer.result())
            return
        if not isinstance(failed, InvokerLost):  # Redis away: no answer can come either
            log.warning("waiting for the answer about run %s of device %s failed: %r",
                        activation_id, device, failed)
        _settle(pending, InvokerLost(device, f"it left controller {away.to}, and no controller "
                                             f"it registered with since sent its result "
                                             f"within {patience_s:g} s"))

    def returning(self, device: str, asked: str | None = None) -> None:
        """``device`` registers here again: the runs this controller handed over with it
        are waited for here (before the registration is handled, so that the results it
        holds are known), but for those handed to ``asked``, the live controller it left,
        which hands them back itself (``ask``). Without this, a device that came back from
        a controller that died, or came back before this one saw where it had gone (the
        others publish their devices every ``PUBLISH_S``), brought results this one dropped
        as unknown, while the runs were recorded lost."""
        for activation_id, away in list(self._away.get(device, {}).items()):
            if away.to != asked:
                self._back(device, activation_id, away)

    def _back(self, device: str, activation_id: str, away: _Away) -> None:
        """Wait for the run at this controller's hub (once), as a restart waits for what
        it had sent: its result settles the run, or ``InvokerLost`` once the window is over
        or the device came back without it."""
        if away.back is not None or self.adoption.hub is None:
            return
        pending = away.pending
        away.back = self.adoption.hub(device, activation_id, pending.memory_mb,
                                      pending.logs_limit, pending.produces)
        away.back.add_done_callback(functools.partial(self._back_ended, device,
                                                      activation_id, away))

    def _back_ended(self, device: str, activation_id: str, away: _Away,
                    back: asyncio.Future[RunOutcome]) -> None:
        """The wait at this hub ended: its result ends the run; its failure (the device
        came back without it, or not within the window) ends it only if nobody adopted it
        elsewhere from the listing (``_unless_adopted``). A cancelled wait ends nothing."""
        if back.cancelled():
            return
        failed = back.exception()
        if failed is None:
            _settle(away.pending, back.result())
        else:
            self._relays.spawn(self._unless_adopted(device, activation_id, away, failed))

    async def _unless_adopted(self, device: str, activation_id: str, away: _Away,
                              failed: BaseException) -> None:
        """Unlisted in one step: then nobody adopts it, and ``failed`` ends the run; else a
        controller the device registered with adopted it, and its answer does."""
        if away.pending.future.done():
            return
        try:
            adopted = not await self.adoption.unlist(device, activation_id)
        except Exception:  # Redis away: no answer can come through it either
            adopted = False
        if adopted:
            await self._adopted(device, activation_id, away)
        else:
            _settle(away.pending, failed)

    async def close(self) -> None:
        await self._relays.close()
