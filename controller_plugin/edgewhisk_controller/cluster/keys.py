"""The Redis keys the controllers of a cluster share: one place names them all.

One Redis server (or a primary with replicas), not Redis Cluster: two Lua scripts reach keys
they find on the way rather than declare in ``KEYS`` (the takeover's ``TAKE`` follows the
``taken`` sets, the claims' ``FORGET`` the ``claimed`` set), which only works where every
key lives on one server. The keys they would need cannot be known before the script reads
those sets, and reading them first would lose the one atomic step each script exists for.
"""

from __future__ import annotations

PREFIX = "edgewhisk:cluster:"
MEMBERS = PREFIX + "members"
"""A hash: controller id -> what it publishes (the devices whose tunnels it holds)."""
REGISTRATIONS = PREFIX + "registrations"
"""A hash: device id -> how many times it registered with any controller (``HINCRBY`` at
each, before it is handled): of two registrations of one device, the later has the larger
number, whatever the controllers' clocks say (``handoff.py``)."""
PRELOAD_DECISIONS = PREFIX + "preload-decisions"
"""A list: the newest standing-preload decisions of every controller, newest first (``LPUSH``
and ``LTRIM`` in one transaction: ``decisions.py``)."""
GROUP = "holder"
"""The consumer group of every controller's run stream (entries stay pending until acked,
so a controller that dies holding some leaves them to be claimed)."""


def client_name(controller: str) -> str:
    """The name of ``controller``'s connections to Redis (``CLIENT SETNAME``): they close
    when its process dies, which the others see at once in ``CLIENT LIST``."""
    return f"edgewhisk-cluster-{controller}"


def alive(controller: str) -> str:
    """A key that exists while ``controller`` lives (it renews it before it expires)."""
    return f"{PREFIX}alive:{controller}"


def incarnation(controller: str) -> str:
    """A counter: ``controller``'s starts under its id (``INCR`` at each, never expiring).
    A takeover is of one incarnation: it refuses once the count moved on (the controller
    started again and finishes its own work), and takes only that incarnation's documents."""
    return f"{PREFIX}incarnation:{controller}"


def runs(controller: str) -> str:
    """The stream of activations sent to ``controller`` for the devices it holds."""
    return f"{PREFIX}runs:{controller}"


def replies(controller: str) -> str:
    """The stream of answers to the activations ``controller`` forwarded."""
    return f"{PREFIX}replies:{controller}"


def takeover(controller: str) -> str:
    """Who claimed the work ``controller`` left when it died (``SET NX``)."""
    return f"{PREFIX}takeover:{controller}"


def taken(controller: str) -> str:
    """A set: the controllers ``controller`` took over (their ``takeover`` keys name it),
    added with each claim, so that whoever takes ``controller`` over in turn inherits them
    by reading it rather than every takeover key."""
    return f"{PREFIX}taken:{controller}"


def claims(device: str) -> str:
    """A device's memory as every controller claims it (``claims.py``)."""
    return f"{PREFIX}claims:{device}"


def claimed(controller: str) -> str:
    """A set: the devices on which ``controller`` ever claimed (added by each claim), so
    that its claims are dropped when it dies by reading it rather than every device's hash."""
    return f"{PREFIX}claimed:{controller}"


def reclaims(device: str) -> str:
    """A hash: activation id -> what a takeover waits for from ``device``, for the controller
    the device registers with to adopt (``adoption.py``)."""
    return f"{PREFIX}reclaims:{device}"


def written(incarnation: int | None) -> str | int:
    """An incarnation as keys and scripts write it ('': unknown, not checked)."""
    return "" if incarnation is None else incarnation


BACK = "back:"
"""How the ``came_back`` fields of ``reclaims(device)`` begin (activation ids, the other
fields, are hex)."""


def came_back(dead: str, incarnation: int | None) -> str:
    """A field of ``reclaims(device)``: the device that incarnation of ``dead`` held
    registered with the named controller, which adopted what was listed by then; what the
    takeover of that incarnation lists after it is too late to be adopted (``adoption.py``).
    Of one incarnation, like the takeover it serves: a later death's takeover is not."""
    return f"{BACK}{dead}:{written(incarnation)}"


def listed(controller: str, incarnation: int | None) -> str:
    """Set once the controller taking that incarnation of ``controller`` over has listed
    what it waits for (a later death's takeover lists again)."""
    return f"{PREFIX}listed:{controller}:{written(incarnation)}"
