"""Feed lifecycle events sent on a trigger's behalf, as ``wsk trigger create --feed`` sends them.

A trigger with a ``feed`` annotation (the feed action's name, e.g.
``/whisk.system/alarms/alarm``) gets its events from that action, which is told the lifecycle
of the trigger (apache/openwhisk:docs/feeds.md, "Implementing Feed Actions"): it is invoked,
blocking, as the trigger's owner, with ``lifecycleEvent`` (``CREATE``, ``READ``, ``UPDATE``,
``DELETE``, ``PAUSE``, ``UNPAUSE``), ``triggerName`` (``/ns/trigger``) and ``authKey`` (the
owner's key) plus the feed's own parameters.

``wsk`` and the JavaScript client's ``feeds`` send these events themselves, around plain
trigger writes (the trigger itself carries no parameters then). The controller sends them for
clients that do not: a trigger created with a ``feed`` annotation *and parameters* gets
``CREATE`` with those parameters, which are the feed's and not kept on the trigger (a failed
``CREATE`` deletes the trigger again, as ``wsk`` does), and deleting a trigger with a ``feed``
annotation sends ``DELETE`` first. A feed action
may therefore see ``DELETE`` twice for one trigger (from the client, then from the
controller): the catalog's alarms treat a second one as done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..exceptions import BadGateway, BadRequest, Forbidden, NotFound
from ..schema import activation as act
from ..schema import stored
from ..stores import Doc
from .dispatcher import Dispatcher

log = logging.getLogger(__name__)

FEED = "feed"
EVENTS = ("CREATE", "READ", "UPDATE", "DELETE", "PAUSE", "UNPAUSE")
WAIT_S = 60.0


def feed_of(trigger: Mapping[str, Any]) -> str | None:
    """The trigger's feed action (its ``feed`` annotation), if it has one."""
    value = stored.annotation(trigger, FEED)
    return value if isinstance(value, str) and value else None


def feed_failed(feed: str, reason: Any) -> str:
    return f"Unable to configure feed '{feed}': {reason}"


async def send(dispatcher: Dispatcher, trigger: Doc, event: str, params: Mapping[str, Any],
               *, subject: str, api_key: str | None) -> act.ActivationRecord:
    """Invoke the trigger's feed action with ``event``; its record (``BadGateway`` when the
    action failed or did not answer within a minute, ``BadRequest`` for a feed that does not
    exist or may not be run)."""
    ns, feed = trigger["namespace"], feed_of(trigger)
    if feed is None or event not in EVENTS:
        raise ValueError(f"no feed lifecycle {event!r} for trigger {trigger.get('_id')!r}")
    qualified = feed if feed.startswith("/") else f"/{ns}/{feed}"
    try:
        resolved = await dispatcher.resolve(ns, qualified)
    except (NotFound, Forbidden):
        raise BadRequest(f"annotations.feed: the feed action {feed!r} does not exist or may "
                         "not be run") from None
    payload = {**params, "lifecycleEvent": event,
               "triggerName": f"/{stored.path(ns, trigger['name'])}",
               "authKey": api_key}
    invocation = await dispatcher.invoke(ns, resolved.action, payload, subject=subject,
                                         blocking=True, wait_s=WAIT_S, api_key=api_key,
                                         binding=resolved.binding)
    record = invocation.record
    if record is None:
        raise BadGateway(feed_failed(feed, f"no answer within {WAIT_S:.0f} s (activation "
                                           f"{invocation.activation_id})"))
    if not record["response"]["success"]:
        result = record["response"]["result"]
        reason = result.get(act.ERROR_FIELD, result) if isinstance(result, dict) else result
        raise BadGateway(feed_failed(feed, reason))
    return record


def takes_parameters(trigger: Doc) -> dict[str, Any] | None:
    """For a new trigger with a feed and parameters: the parameters, taken off the trigger
    (they are the feed's, for ``CREATE``: ``wsk trigger create --feed`` passes them to the
    feed action and none to the trigger). None when the controller sends no ``CREATE``."""
    if feed_of(trigger) is None or not trigger.get("parameters"):
        return None
    parameters = stored.parameters(trigger)
    trigger["parameters"] = []
    return parameters


async def deleted(dispatcher: Dispatcher, trigger: Doc, *, subject: str,
                  api_key: str | None) -> None:
    """``DELETE`` before a trigger with a feed is deleted; a failure is logged, never stops
    the deletion (``wsk trigger delete`` deletes the trigger whatever the feed answered)."""
    if feed_of(trigger) is None:
        return
    try:
        await send(dispatcher, trigger, "DELETE", {}, subject=subject, api_key=api_key)
    except (BadGateway, BadRequest) as exc:
        log.warning("trigger %s deleted; its feed's DELETE failed: %s", trigger["_id"],
                    exc.message)
