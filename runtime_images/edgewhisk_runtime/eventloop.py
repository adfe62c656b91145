"""The event loop of the controller and of the edge agent: uvloop by default, the standard
library's on request (``--loop``).

Why uvloop: the controller's CPU per blocking invoke is mostly event-loop work (reading and
writing sockets for the API and for the action proxies, waking tasks, thread hand-offs), and
uvloop (libuv) does that work in C. ``edgewhisk bench controller`` runs both side by side in
one run and prints the ratio (``--loop asyncio`` is the other side); ``asyncio`` stays
available for debugging and for platforms without uvloop. The agent's tunnelled run is the
same kind of work (a frame in, an HTTP exchange with the action's proxy, a frame out): with
uvloop it took 0.87x the agent CPU per warm activation of asyncio's loop, two agents on one
controller, interleaved (docs/hotpath.md, "The tunnel"). The action proxy (``edgewhisk runtime
serve``) runs on :func:`preferred`: uvloop where it is installed (0.76x the proxy's CPU per
warm ``/run``, docs/hotpath.md "The action proxy"), asyncio's own where it is not, since the
proxy also runs in images and on hosts that may lack it. Why in this package: the controller,
the agent and the proxy all import it, and the first two may not import each other.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOPS = ("uvloop", "asyncio")
"""The ``--loop`` choices; the first is the default."""


def factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The loop factory of ``name`` (one of ``LOOPS``); None: asyncio's own."""
    if name not in LOOPS:
        raise ValueError(f"unknown event loop {name!r}: choose one of {', '.join(LOOPS)}")
    if name == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def installed() -> tuple[str, ...]:
    """The ``LOOPS`` this interpreter can run (asyncio's own always); found, not imported, so
    a process that runs asyncio's loop never loads uvloop."""
    return LOOPS if importlib.util.find_spec("uvloop") is not None else ("asyncio",)


def preferred() -> str:
    """The first loop of ``LOOPS`` that is installed."""
    return installed()[0]


def run(main: Coroutine[Any, Any, T], loop: str = LOOPS[0]) -> T:
    """``asyncio.run(main)`` on the event loop ``loop``."""
    with asyncio.Runner(loop_factory=factory(loop)) as runner:
        return runner.run(main)
