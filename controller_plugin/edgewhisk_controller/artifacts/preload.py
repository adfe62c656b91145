"""Preload: push one artifact version to the invokers a device selector picks.

The field-technician case: before the devices go where the network is poor, the model they
will serve is put into their stores. The selector is over what the controller knows of each
invoker (``InvokerState``, and the context an edge device last reported)::

    {"labels": {"k": "v"}, "owner": "u1", "role": "edge", "networks": ["plant"],
     "site": "plant-a", "capabilities": ["gpu"], "min_battery": 0.5, "charging": true,
     "unmetered": true}

every given field must hold (lists: every item). The context conditions read the live context
placement keeps (``InvokerState``): a mains-powered invoker counts as charging and at full
battery; one that never reported ``metered`` as unmetered (as ``policy.context`` reads them).
Only ``cloud`` versions are preloaded: their
bytes come from the blob store, and ``locality.check_move`` refuses the others before anything
moves (the whole request is refused, naming the rule). An invoker whose store already holds
the version (the registry's ``copies``) answers ``cached``; the others get the version pushed —
a local invoker stages it into its node store, an edge device through the tunnel hub
(``hub.push(invoker_id, doc)``) — and answer ``preloaded``, or ``refused`` with the reason.
Preload asks each invoker for that itself (``Target.preload``), and for what it last reported
of its surroundings (``Target.context``), so it needs no knowledge of the kinds of invoker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..placement.interface import InvokerState
from ..stores import Doc
from . import locality as rules
from .exceptions import InvalidArtifact

FIELDS = ("labels", "owner", "role", "networks", "site", "capabilities", "min_battery",
          "charging", "unmetered")


class Target(Protocol):
    """An invoker, as preload needs it (the controller's ``Invoker``s are ones)."""

    @property
    def id(self) -> str: ...

    @property
    def context(self) -> Mapping[str, Any]:
        """What it last reported of its surroundings (battery, charging); may be empty."""

    @property
    def forwarded(self) -> bool:
        """Whether another controller holds it (a cluster peer's device)."""

    def state(self) -> InvokerState: ...

    async def preload(self, doc: Doc) -> str:
        """Put ``doc`` into its store: ``cached`` or ``preloaded`` (raises naming why not)."""


@dataclass(frozen=True)
class DeviceSelector:
    labels: Mapping[str, str] = field(default_factory=dict)
    owner: str | None = None
    role: str | None = None
    networks: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()
    min_battery: float | None = None
    charging: bool | None = None
    site: str | None = None
    unmetered: bool | None = None

    @classmethod
    def parse(cls, raw: Any) -> DeviceSelector:
        """From the request's ``devices`` object (``InvalidArtifact`` naming a bad field)."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise InvalidArtifact("devices: must be an object, e.g. {\"owner\": \"u1\"}")
        unknown = sorted(set(raw) - set(FIELDS))
        if unknown:
            raise InvalidArtifact(f"devices: unknown field {unknown[0]!r}; known: "
                                  f"{', '.join(FIELDS)}")
        labels = raw.get("labels") or {}
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise InvalidArtifact("devices.labels: must be an object of strings")
        for name in ("owner", "role", "site"):
            if raw.get(name) is not None and not isinstance(raw[name], str):
                raise InvalidArtifact(f"devices.{name}: must be a string")
        sets = {name: _strings(raw.get(name), name) for name in ("networks", "capabilities")}
        battery = raw.get("min_battery")
        if battery is not None and (isinstance(battery, bool)
                                    or not isinstance(battery, int | float)
                                    or not 0 <= battery <= 1):
            raise InvalidArtifact("devices.min_battery: must be a number from 0 to 1")
        for name in ("charging", "unmetered"):
            if raw.get(name) is not None and not isinstance(raw[name], bool):
                raise InvalidArtifact(f"devices.{name}: must be true or false")
        return cls(labels, raw.get("owner"), raw.get("role"), sets["networks"],
                   sets["capabilities"], battery, raw.get("charging"), raw.get("site"),
                   raw.get("unmetered"))

    def matches(self, state: InvokerState, context: Mapping[str, Any]) -> bool:
        """Whether the invoker is one to preload to now (``context``: what it last reported,
        for invokers whose state does not carry it)."""
        battery = state.battery if state.battery is not None else context.get("battery")
        on_power = state.on_power if state.charging is not None or battery is None \
            else bool(context.get("charging"))
        return (all(state.labels.get(k) == v for k, v in self.labels.items())
                and self.owner in (None, state.owner) and self.role in (None, state.role)
                and self.site in (None, state.site)
                and self.networks <= state.networks and self.capabilities <= state.capabilities
                and (self.min_battery is None or battery is None
                     or battery >= self.min_battery)
                and self.charging in (None, on_power)
                and self.unmetered in (None, state.metered is not True))

    def describe(self) -> str:
        """The selector in words, for decisions' reasons: ``owner u1, charging, unmetered``."""
        parts = [f"{k}={v}" for k, v in sorted(self.labels.items())]
        parts += [f"{name} {value}" for name, value in (("owner", self.owner),
                                                        ("role", self.role),
                                                        ("site", self.site)) if value]
        parts += [f"network {n}" for n in sorted(self.networks)]
        parts += [f"capability {c}" for c in sorted(self.capabilities)]
        if self.min_battery is not None:
            parts.append(f"battery>={self.min_battery:g}")
        if self.charging is not None:
            parts.append("charging" if self.charging else "not charging")
        if self.unmetered is not None:
            parts.append("unmetered" if self.unmetered else "metered")
        return ", ".join(parts) or "every device"


def _strings(value: Any, name: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArtifact(f"devices.{name}: must be a list of strings")
    return frozenset(value)


def serves(invoker: Target, ns: str) -> bool:
    namespaces = invoker.state().namespaces
    return namespaces is None or ns in namespaces


async def preload(doc: Doc, invokers: Iterable[Target],
                  selector: DeviceSelector) -> list[dict[str, Any]]:
    """Push ``doc`` to every healthy invoker of its namespace ``selector`` matches; one
    ``{"invoker", "status", "reason"}`` per invoker, ordered by id."""
    rules.check_preload(doc)
    chosen = sorted((i for i in invokers if i.state().healthy and serves(i, doc["namespace"])
                     and selector.matches(i.state(), i.context)),
                    key=lambda i: i.id)
    return list(await asyncio.gather(*(push(doc, i) for i in chosen)))


async def push(doc: Doc, invoker: Target) -> dict[str, Any]:
    """Push ``doc`` to one invoker: ``{"invoker", "status", "reason"}``, ``cached`` when its
    store holds it already, ``refused`` with the reason when it cannot."""
    answer: dict[str, Any] = {"invoker": invoker.id, "status": "cached", "reason": None}
    if invoker.id in doc.get("copies", []):
        return answer
    try:
        rules.check_move(doc, to=invoker.state(), from_=rules.CLOUD)
        status = await invoker.preload(doc)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a refusal or a failed transfer: this invoker's answer
        return {**answer, "status": "refused", "reason": str(exc)}
    return {**answer, "status": status if status in ("cached", "preloaded") else "preloaded"}
