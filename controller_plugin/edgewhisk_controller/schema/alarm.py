"""Alarm registrations: when the ``/whisk.system/alarms`` feeds fire a trigger.

One document per trigger (``_id`` = ``ns/trigger``) in the ``alarms`` collection: what the
feed action registered and the state that must survive a restart (``status``, ``next`` — the
next firing, ms since the epoch — and how often it fired). The parameters are those of
apache/openwhisk-package-alarms' feeds, checked here field by field:

============ ==================================================================================
``alarm``    ``cron``: five fields (minute hour day month weekday, UTC), or six with seconds
             first (node-cron's form, an edgewhisk addition); ``startDate``, ``stopDate``
``interval`` ``minutes`` (an integer >= 1), or ``seconds`` (an edgewhisk addition, >= 1);
             ``startDate`` (the first firing, default now + the interval), ``stopDate``
``once``     ``date`` (ISO 8601 or ms since the epoch, in the future); ``deleteAfterFire``:
             ``false``, ``"rules"`` (delete the trigger's rules) or ``true`` (the rules and
             the trigger)
============ ==================================================================================

Every feed takes ``trigger_payload``: the parameters each firing carries (an object, or any
other value as ``{"payload": value}``). ``next_firing`` computes a schedule's next time; the
alarm service (``dispatch/alarms.py``) sleeps until then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from croniter import CroniterBadCronError, croniter

from ..exceptions import BadRequest
from . import entity

COLLECTION = "alarms"
KINDS = ("alarm", "interval", "once")
STATUSES = ("active", "paused")
DELETE_AFTER_FIRE = (False, "rules", True)
FIELDS = {"alarm": ("cron", "startDate", "stopDate"),
          "interval": ("minutes", "seconds", "startDate", "stopDate"),
          "once": ("date", "deleteAfterFire")}
COMMON = ("trigger_payload", "timezone")


def build(ns: str, trigger: str, kind: str, body: Any, *, subject: str, now_ms: int,
          previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The alarm document for ``trigger`` of ``ns``: a new registration, or ``previous``
    updated with what ``body`` gives (its state kept)."""
    if kind not in KINDS:
        raise BadRequest(f"kind: {kind!r} must be one of {', '.join(KINDS)}")
    body = entity.object_body(body, "alarm")
    entity.check_fields(body, (*FIELDS[kind], *COMMON))
    given = {**(previous or {}).get("config", {}), **body}
    config = _config(kind, given)
    doc: dict[str, Any] = {
        "_id": f"{ns}/{trigger}", "namespace": ns, "trigger": trigger, "kind": kind,
        "config": config, "subject": subject,
        "status": (previous or {}).get("status", "active"),
        "fired": (previous or {}).get("fired", 0), "created": now_ms, "updated": now_ms,
    }
    if previous is not None:
        doc["_rev"], doc["created"] = previous["_rev"], previous.get("created", now_ms)
    if kind == "once" and config["date"] <= now_ms:
        raise BadRequest("date: must be in the future")
    doc["next"] = next_firing(doc, now_ms, initial=True)
    if doc["next"] is None:
        raise BadRequest("The alarm would never fire: its dates are in the past.")
    return doc


def _config(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    if given.get("timezone") not in (None, "UTC", "Etc/UTC"):
        raise BadRequest("timezone: only UTC is supported")
    config: dict[str, Any] = {"trigger_payload": given.get("trigger_payload", {})}
    if kind == "alarm":
        config["cron"] = _cron(given.get("cron"))
    elif kind == "interval":
        config.update(_interval(given))
    else:
        config["date"] = _date(given.get("date"), "date")
        after = given.get("deleteAfterFire", False)
        if after not in DELETE_AFTER_FIRE:
            raise BadRequest("deleteAfterFire: must be false, 'rules' or true")
        config["deleteAfterFire"] = after
    for field in ("startDate", "stopDate"):
        if kind != "once" and given.get(field) is not None:
            config[field] = _date(given[field], field)
    if config.get("startDate") and config.get("stopDate") and \
            config["stopDate"] <= config["startDate"]:
        raise BadRequest("stopDate: must be after startDate")
    return config


def _cron(value: Any) -> str:
    if not isinstance(value, str) or len(value.split()) not in (5, 6):
        raise BadRequest("cron: must be a cron pattern of five fields (or six, seconds first)")
    try:
        croniter(value, second_at_beginning=True)
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise BadRequest(f"cron: {value!r} is not a valid cron pattern: {exc}") from None
    return value


def _interval(given: Mapping[str, Any]) -> dict[str, int]:
    unit = "seconds" if given.get("seconds") is not None else "minutes"
    value = given.get(unit)
    if type(value) is not int or value < 1:
        raise BadRequest(f"{unit}: must be an integer of at least 1 (the period)")
    return {unit: value}


def _date(value: Any, field: str) -> int:
    """A date as ms since the epoch: given so (a number), or ISO 8601 (UTC unless it says)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return int(value)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return int(parsed.timestamp() * 1000)
    raise BadRequest(f"{field}: {value!r} is not a date (ISO 8601 or ms since the epoch)")


def next_firing(doc: Mapping[str, Any], after_ms: int, *, initial: bool = False) -> int | None:
    """The first firing of ``doc``'s schedule after ``after_ms`` (None: it never fires again).

    ``initial``: the registration's first firing (an interval starts at ``startDate``, or one
    period from now; a ``once`` alarm whose date has passed fires at once)."""
    config = doc["config"]
    kind = doc["kind"]
    if kind == "once":
        return config["date"] if initial or config["date"] > after_ms else None
    start = config.get("startDate")
    if kind == "interval":
        period = config.get("seconds", 0) * 1000 or config.get("minutes", 0) * 60_000
        if start is None:
            start = doc.get("created", after_ms) + period
        following = start if after_ms < start else \
            start + ((after_ms - start) // period + 1) * period
    else:
        base = dt.datetime.fromtimestamp(max(after_ms, (start or 0) - 1) / 1000, dt.UTC)
        following = int(croniter(config["cron"], base, second_at_beginning=True)
                        .get_next(float) * 1000)
    stop = config.get("stopDate")
    return None if stop is not None and following > stop else following


def trigger_payload(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a firing carries: ``trigger_payload`` (not an object: ``{"payload"}``)."""
    value = doc["config"].get("trigger_payload", {})
    return dict(value) if isinstance(value, dict) else {"payload": value}


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What READ answers, in the shape of upstream's alarm feed: ``config`` and ``status``."""
    return {"config": {"name": doc["trigger"], "namespace": doc["namespace"],
                       "kind": doc["kind"], **doc["config"]},
            "status": {"active": doc["status"] == "active", "dateChanged": doc["updated"],
                       "fired": doc["fired"], "next": doc.get("next")}}
