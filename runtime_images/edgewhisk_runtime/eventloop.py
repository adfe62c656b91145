"""The event loop of the controller, the edge agent and the action proxy: uvloop by default,
asyncio's own where uvloop does not import or on request (``--loop``).

Why uvloop: the controller's CPU per blocking invoke is mostly event-loop work (reading and
writing sockets for the API and for the action proxies, waking tasks, thread hand-offs), and
uvloop (libuv) does that work in C. ``edgewhisk bench controller`` runs both side by side in
one run and prints the ratio (``--loop asyncio`` is the other side); ``asyncio`` stays
available for debugging and for platforms without uvloop. The agent's tunnelled run is the
same kind of work (a frame in, an HTTP exchange with the action's proxy, a frame out): with
uvloop it took 0.87x the agent CPU per warm activation of asyncio's loop, two agents on one
controller, interleaved (docs/hotpath.md, "The tunnel"). The action proxy (``edgewhisk runtime
serve``) took 0.72-0.75x the CPU per warm ``/run`` on uvloop (docs/hotpath.md "The action
proxy").

Why the default falls back: all three run in images and on hosts that may lack uvloop, or have
a copy that does not import (built for another Python); a loop nobody asked for must not keep
a process from starting, so the default is decided by importing uvloop (:func:`preferred`). A
loop named explicitly is checked the same way and refused with the import's error. One helper
(:func:`add_argument`) gives the three command lines the same ``--loop``.

Why in this package: the controller, the agent and the proxy all import it, and the first two
may not import each other.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOPS = ("uvloop", "asyncio")
"""The ``--loop`` choices, in order of preference."""


def factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The loop factory of ``name`` (one of ``LOOPS``); None: asyncio's own."""
    if name not in LOOPS:
        raise ValueError(f"unknown event loop {name!r}: choose one of {', '.join(LOOPS)}")
    if name == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def unusable(name: str) -> str | None:
    """Why the loop ``name`` cannot run here (its import's error), or None when it can.
    Imported, not only found: a uvloop that is present but broken must count as missing."""
    if name == "asyncio":
        return None
    try:
        importlib.import_module(name)
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def preferred() -> str:
    """The first loop of ``LOOPS`` that imports (asyncio's own always does)."""
    return next(name for name in LOOPS if unusable(name) is None)


def _chosen(name: str) -> str:
    """``--loop``'s type: an unknown name is left to ``choices``; a known one that does not
    import is refused here, before anything starts."""
    reason = unusable(name) if name in LOOPS else None
    if reason is not None:
        raise argparse.ArgumentTypeError(f"event loop {name!r} cannot be loaded ({reason})")
    return name


def add_argument(parser: argparse.ArgumentParser) -> None:
    """``--loop`` on ``parser``; its default (None) is decided by :func:`run`, when the
    process starts, so a command that never runs a loop never imports uvloop."""
    parser.add_argument("--loop", type=_chosen, choices=LOOPS, default=None,
                        help="the event loop (default: uvloop where it imports, else "
                             "asyncio's own)")


def run(main: Coroutine[Any, Any, T], loop: str | None = None) -> T:
    """``asyncio.run(main)`` on the event loop ``loop`` (None: :func:`preferred`)."""
    with asyncio.Runner(loop_factory=factory(loop or preferred())) as runner:
        return runner.run(main)
