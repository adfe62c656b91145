"""The Redis keys the controllers of a cluster share: one place names them all."""

from __future__ import annotations

PREFIX = "edgewhisk:cluster:"
MEMBERS = PREFIX + "members"
"""A hash: controller id -> what it publishes (the devices whose tunnels it holds)."""
GROUP = "holder"
"""The consumer group of every controller's run stream (entries stay pending until acked,
so a controller that dies holding some leaves them to be claimed)."""


def alive(controller: str) -> str:
    """A key that exists while ``controller`` lives (it renews it before it expires)."""
    return f"{PREFIX}alive:{controller}"


def runs(controller: str) -> str:
    """The stream of activations sent to ``controller`` for the devices it holds."""
    return f"{PREFIX}runs:{controller}"


def replies(controller: str) -> str:
    """The stream of answers to the activations ``controller`` forwarded."""
    return f"{PREFIX}replies:{controller}"
