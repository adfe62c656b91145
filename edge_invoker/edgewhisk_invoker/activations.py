"""The activations a device runs, from a ``run`` frame to a delivered result.

Why these rules:
- each activation runs in the shared pool as a task of its own, and outlives the connection:
  its result waits in the :class:`~.outbox.Outbox` until a connection takes it (``holding``
  lists what is running or waiting, so the controller keeps those activations on a reconnect);
- a ``run`` is started once: a repeat (the controller resent it after a reconnect) is ignored,
  the result of the first one is delivered;
- protocol 2: a warm ``run`` may omit its code (:class:`~.codes.Codes` keeps what it may
  omit); a run whose code is gone is refused with ``code.missing`` and sent again with it;
- a run the agent cannot start (it is shutting down) or that fails in the agent itself still
  answers its activation, with an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from edgewhisk_runtime.containers import ContainerError, ContainerPool
from edgewhisk_tunnel import CodeMissing, Run

from .artifacts import DeviceArtifacts, StagingError
from .beats import Beats
from .codes import Codes
from .context import ContextMonitor
from .frames import action_spec, error_frame, for_version, result_frames
from .link import Link
from .outbox import Outbox

log = logging.getLogger("edgewhisk_invoker")

SHUTDOWN_ERROR = "the edge invoker {id} shut down during the activation"


class Activations:
    """Running activations (``running``) and results not confirmed yet (``outbox``); the
    connection's state (registered, its protocol version) is the ``link``'s; once
    ``stopping`` is set no new run starts."""

    def __init__(self, invoker_id: str, pool: ContainerPool, artifacts: DeviceArtifacts,
                 monitor: ContextMonitor, link: Link, outbox: Outbox, beats: Beats,
                 spawn: Callable[[Coroutine[Any, Any, Any]], None], *,
                 stopping: asyncio.Event) -> None:
        self.invoker_id = invoker_id
        self.pool, self.artifacts, self.monitor = pool, artifacts, monitor
        self.link, self.outbox, self.beats, self._spawn = link, outbox, beats, spawn
        self.running: dict[str, asyncio.Task[None]] = {}
        self.stopping = stopping
        self._codes = Codes()  # protocol 2: code a run may omit
        self._flush_lock = asyncio.Lock()

    def holding(self) -> tuple[str, ...]:
        """The activation ids a register names: running, or results not confirmed yet."""
        return tuple(dict.fromkeys([*self.running, *self.outbox.ids()]))

    async def received(self, run: Run) -> None:
        """A ``run`` frame: started, or refused with ``code.missing`` (evicted: the
        controller sends it again, with its code)."""
        if self._codes.missing(run):
            await self.link.send(CodeMissing(run.activation_id, run.spec.key))
        else:
            self._start(run, self._codes.code(run, keep=self.link.protocol >= 2))

    def _start(self, run: Run, code: str | None) -> None:
        aid = run.activation_id
        if aid in self.running or aid in self.outbox:
            log.info("run %s is already here; its result will be delivered once", aid)
            return
        if self.stopping.is_set():
            self.shut_down(aid)
            return
        self.running[aid] = asyncio.ensure_future(self._run(run, code))
        self.monitor.in_flight = len(self.running)

    async def _run(self, run: Run, code: str | None) -> None:
        aid = run.activation_id
        frames: list[str]
        try:
            spec, value = action_spec(run.spec, code), dict(run.value)
            reports = self.link.protocol >= 2  # the result names what the run kept
            outcome = await self.artifacts.around(
                run, lambda fields: self.pool.run(spec, value, fields), quiet=reports)
            cached = self.artifacts.keys() if reports and run.produces else None
            frames = result_frames(aid, outcome, cached)
        except (ContainerError, StagingError) as exc:
            frames = [error_frame(aid, f"edge invoker {self.invoker_id}: {exc}")]
        except Exception as exc:  # a bug here must still answer the activation
            log.exception("activation %s failed in the agent", aid)
            frames = [error_frame(aid, f"edge invoker {self.invoker_id} failed: {exc!r}")]
        self._finish(aid, frames)

    def shut_down(self, activation_id: str) -> None:
        """``activation_id`` ends with the shutdown error (cancelled, or never started)."""
        task = self.running.get(activation_id)
        if task is not None:
            task.cancel()
        self._finish(activation_id, [error_frame(activation_id, SHUTDOWN_ERROR.format(
            id=self.invoker_id))])

    def _finish(self, activation_id: str, frames: list[str]) -> None:
        """Into the outbox, then out of the running set (no await between: ``holding`` never
        misses it), and on its way if connected: from a task of its own, spawned after the
        run's node-store changes spawned theirs. Protocol 2: the result itself names what
        the run kept (``Result.cached``), so frame order does not matter. Protocol 1: the
        ``context`` frame naming a kept artifact must reach the controller before the
        result (a flow's next step is placed by where that artifact is; sent from the run's
        own task, the result overtook it)."""
        self.outbox.add(activation_id, frames, late=not self.link.connected)
        self.running.pop(activation_id, None)
        self.monitor.in_flight = len(self.running)
        if self.link.connected:
            self._spawn(self.flush())

    async def flush(self) -> None:
        """Send the outbox's unsent results, oldest first, on the live connection. Each frame
        goes out only while the connection the flush began on is the live one (a send can
        wait for the link's lock across a reconnect), and a result counts as sent only on
        it (``Outbox.sent``'s ``generation``)."""
        async with self._flush_lock:
            generation = self.outbox.generation
            for pending in self.outbox.unsent():
                for frame in pending.frames:
                    if not self.link.connected or self.outbox.generation != generation:
                        return
                    if not await self.link.send_frame(for_version(frame, self.link.protocol)):
                        return
                self.outbox.sent(pending.activation_id, self.beats.seq, generation)
