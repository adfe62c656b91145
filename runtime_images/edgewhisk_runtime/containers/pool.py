"""ContainerPool: warm containers per action version, memory slots, idle eviction, deadlines.

Why these rules (upstream's ContainerPool/ContainerProxy, simplified to one process):
- a container serves only one ``spec.key`` (action version + code digest) and at most
  ``spec.concurrency`` activations at once; a run picks the busiest warm container that still has
  room (packing keeps fewer containers warm), else cold-starts one;
- every container holds ``spec.memory_mb`` of the pool's ``memory_mb`` from the moment its start
  is decided until it is removed; when a cold start does not fit, idle containers of other keys
  are evicted least recently used first, and if that is not enough the run waits on a
  :class:`asyncio.Condition` until a release or eviction frees room (no polling);
- a container is reused only after a 200 from /run with its logs cut cleanly; any other answer
  is a container failure upstream (``ActivationResponse``: "Any non-200 code is treated as a
  container failure"), so it is destroyed, as is one that timed out, died or failed /init;
- idle containers are destroyed after ``idle_timeout_s`` by a per-container timer handle;
- when the last initialised container of a key leaves the pool (idle timeout, evicted for
  room, failed, closed), each callable in ``on_evict`` gets the key: the controller's
  placement must stop preferring this invoker for it (``Engine.forget_warm``).
Expected failures are :class:`RunOutcome` values shaped as upstream's developer errors (status
502 and upstream's messages); only infrastructure failures raise (:mod:`.exceptions`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from edgewhisk_runtime.artifacts.values import GateVerdict
from edgewhisk_runtime.containers.exceptions import (
    ContainerStartError,
    ContainerTimeout,
    ContainerUnreachable,
    ImageUnavailable,
    InsufficientMemory,
    PoolClosed,
)
from edgewhisk_runtime.containers.interface import (
    BLACKBOX,
    ActionSpec,
    Container,
    ContainerBackend,
    RunOutcome,
)
from edgewhisk_runtime.containers.logs import Collected

# Past the action's time limit, how long the pool still waits for the proxy's own answer
# (the proxy enforces ``deadline`` itself and answers 504).
TIMEOUT_MARGIN_S = 2.0
# How long to wait for both sentinels after /run answered (upstream: 2 s log idle timeout).
LOG_WAIT_S = 2.0
# A blackbox need not write sentinels (upstream does not wait for them); until it has written
# one, its logs are whatever arrived within this short wait after /run answered.
BLACKBOX_LOG_WAIT_S = 0.1
DEVELOPER_ERROR = 502
# Upstream's Messages, verbatim.
ABNORMAL_INIT = "The action did not initialize and exited unexpectedly."
ABNORMAL_RUN = "The action did not produce a valid response and exited unexpectedly."


def timed_out_message(timeout_ms: int, init: bool = False) -> str:
    """Upstream's ``Messages.timedoutActivation``."""
    return (f"The action exceeded its time limits of {timeout_ms} milliseconds"
            + (" during initialization." if init else "."))


class _Entry:
    """One container slot: reserved first, then started, initialised, busy or idle."""

    def __init__(self, spec: ActionSpec) -> None:
        self.spec = spec
        self.container: Container | None = None
        self.busy = 1
        self.last_used = time.monotonic()
        self.retired = False
        self.idle_timer: asyncio.TimerHandle | None = None
        # Done once /init succeeded; its exception is what a run attached to it gets instead.
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def usable(self) -> bool:
        return not self.retired and not (self.ready.done() and self.ready.exception())


class _InitFailed(Exception):
    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__("init failed")
        self.outcome = outcome


class ContainerPool:
    """Runs activations in containers of one backend; see the module docstring for the rules."""

    def __init__(self, backend: ContainerBackend, *, memory_mb: int,
                 idle_timeout_s: float = 600.0, log_wait_s: float = LOG_WAIT_S,
                 timeout_margin_s: float = TIMEOUT_MARGIN_S) -> None:
        self.backend = backend
        self.memory_mb = memory_mb
        self.idle_timeout_s = idle_timeout_s
        self.log_wait_s = log_wait_s
        self.timeout_margin_s = timeout_margin_s
        self.in_flight = 0
        self._entries: list[_Entry] = []
        self._cond = asyncio.Condition()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.on_evict: list[Callable[[str], None]] = []  # key no longer warm here

    # --- state the placement reads ----------------------------------------------------------

    @property
    def free_memory_mb(self) -> int:
        """Memory not held by a container that is starting, busy or idle."""
        return self.memory_mb - sum(e.spec.memory_mb for e in self._entries)

    @property
    def containers(self) -> int:
        """Containers in the pool (starting, busy or idle)."""
        return len(self._entries)

    # ``in_flight``: runs accepted and not finished, including those waiting for a slot.

    def warm_keys(self) -> set[str]:
        """Keys with an initialised container in the pool (busy or idle)."""
        return {e.spec.key for e in self._entries if e.ready.done() and e.usable}

    # --- running ----------------------------------------------------------------------------

    async def run(self, spec: ActionSpec, value: Any, fields: Mapping[str, str]) -> RunOutcome:
        """One activation: a warm container of ``spec.key`` or a cold one, /init once, /run."""
        if self._closed:
            raise PoolClosed()
        if spec.memory_mb > self.memory_mb:
            raise InsufficientMemory(spec.memory_mb, self.memory_mb)
        self.in_flight += 1
        try:
            entry, cold, evicted = await self._acquire(spec)
            reusable = False
            try:
                init = await self._prepare(entry, cold, evicted)
                if isinstance(init, RunOutcome):
                    return init
                outcome, reusable = await self._activate(entry, value, fields)
                outcome.init_ms, outcome.start_ms = init
                return outcome
            finally:
                await self._release(entry, reusable)
        finally:
            self.in_flight -= 1

    async def _acquire(self, spec: ActionSpec) -> tuple[_Entry, bool, list[_Entry]]:
        """(entry, cold, containers evicted for it), waiting for room if there is none."""
        async with self._cond:
            while True:
                if self._closed:
                    raise PoolClosed()
                warm = [e for e in self._entries if e.spec.key == spec.key and e.usable
                        and e.busy < spec.concurrency]
                if warm:
                    entry = max(warm, key=lambda e: (e.busy, e.last_used))
                    entry.busy += 1
                    if entry.idle_timer is not None:
                        entry.idle_timer.cancel()
                        entry.idle_timer = None
                    return entry, False, []
                evict = self._room_for(spec)
                if evict is not None:
                    for old in evict:
                        self._retire(old)
                    entry = _Entry(spec)
                    self._entries.append(entry)
                    return entry, True, evict
                await self._cond.wait()

    def _room_for(self, spec: ActionSpec) -> list[_Entry] | None:
        """Idle containers of other keys to evict (LRU first) so ``spec`` fits; None: wait."""
        free = self.free_memory_mb
        evict: list[_Entry] = []
        idle = sorted((e for e in self._entries if e.busy == 0 and e.spec.key != spec.key),
                      key=lambda e: e.last_used)
        for entry in idle:
            if free >= spec.memory_mb:
                break
            evict.append(entry)
            free += entry.spec.memory_mb
        return evict if free >= spec.memory_mb else None

    async def _prepare(self, entry: _Entry, cold: bool,
                       evicted: list[_Entry]) -> tuple[int | None, int | None] | RunOutcome:
        """(init_ms, start_ms) once the container is initialised, or the init-failure outcome."""
        if not cold:
            try:
                await asyncio.shield(entry.ready)
            except _InitFailed as failed:
                return RunOutcome(failed.outcome.status, failed.outcome.response, [], True,
                                  failed.outcome.init_ms, 0, failed.outcome.container_id)
            return None, None
        # A task of its own: a cancelled run does not leave a half-started container behind.
        task = self._spawn(self._cold_start(entry, evicted))
        try:
            return await asyncio.shield(task)
        except BaseException as exc:
            self._retire(entry)  # the start task destroys what it started once it sees this
            if not entry.ready.done():
                failure = (exc if isinstance(exc, Exception)
                           else ContainerStartError("the cold start was cancelled"))
                entry.ready.set_exception(failure)
                entry.ready.exception()  # retrieved: runs attached to it re-raise it
            raise

    async def _cold_start(self, entry: _Entry,
                          evicted: list[_Entry]) -> tuple[int, int] | RunOutcome:
        """Destroy the evicted containers, start one, /init it (the container's first output,
        e.g. what the action prints at import, goes to its first activation's logs)."""
        spec = entry.spec
        for old in evicted:
            await self._destroy(old)
        t0 = time.monotonic()
        try:
            container = await self.backend.start(spec)
        except ImageUnavailable as exc:  # upstream: a developer error, not a whisk error
            return self._init_failed(entry, RunOutcome(
                DEVELOPER_ERROR, {"error": str(exc)}, [], True, None, 0, "",
                start_ms=_ms_since(t0)))
        entry.container = container
        if entry.retired:  # the pool closed (or the run was cancelled) meanwhile
            await container.destroy()
            raise PoolClosed()
        start_ms = _ms_since(t0)
        t1 = time.monotonic()
        try:
            status, body = await container.init(spec.init_payload(),
                                                timeout=spec.timeout_ms / 1000)
        except ContainerTimeout:
            status, body = DEVELOPER_ERROR, {"error": timed_out_message(spec.timeout_ms, True)}
        except ContainerUnreachable:
            status, body = DEVELOPER_ERROR, {"error": ABNORMAL_INIT}
        except BaseException:
            await container.destroy()
            raise
        init_ms = _ms_since(t1)
        if entry.retired:
            await container.destroy()
            raise PoolClosed()
        if status == 200:
            entry.ready.set_result(None)
            return init_ms, start_ms
        self._retire(entry)
        await container.destroy()
        collected = await container.logs.collect(limit_bytes=_log_limit(spec),
                                                 timeout=self.log_wait_s)
        return self._init_failed(entry, RunOutcome(
            status, body, _lines(spec, collected), True, init_ms, 0, container.id,
            start_ms=start_ms))

    def _init_failed(self, entry: _Entry, outcome: RunOutcome) -> RunOutcome:
        """Out of the pool; runs attached to the entry get the same init failure."""
        self._retire(entry)
        entry.ready.set_exception(_InitFailed(outcome))
        entry.ready.exception()  # retrieved: only attached runs care
        return outcome

    async def _activate(self, entry: _Entry, value: Any,
                        fields: Mapping[str, str]) -> tuple[RunOutcome, bool]:
        """/run on an initialised container; (outcome, whether the container may be reused)."""
        spec, container = entry.spec, entry.container
        assert container is not None
        payload: dict[str, Any] = {"value": value, **fields}
        if "deadline" not in payload:
            payload["deadline"] = str(int(time.time() * 1000) + spec.timeout_ms)
        t0 = time.monotonic()
        killed = timed_out = False
        gates: tuple[GateVerdict, ...] = ()
        try:
            status, body, gates = await container.run(payload,
                                                      timeout=self._run_wait(spec, payload))
        except ContainerTimeout:
            status, body, killed, timed_out = DEVELOPER_ERROR, None, True, True
        except ContainerUnreachable:
            status, body, killed = DEVELOPER_ERROR, {"error": ABNORMAL_RUN}, True
        except BaseException:
            self._retire(entry)
            self._spawn(container.destroy())
            raise
        duration_ms = _ms_since(t0)
        if status == 504 and spec.kind != BLACKBOX:  # the proxy stopped it at the deadline
            timed_out = True
        if timed_out:
            status, body = DEVELOPER_ERROR, {"error": timed_out_message(spec.timeout_ms)}
        elif status != 200:
            reason = await container.failure_reason()
            if reason is not None:
                status, body = DEVELOPER_ERROR, {"error": reason}
        if killed:
            self._retire(entry)
            await container.destroy()
        # A blackbox need not write sentinels; until it has written one, none is expected.
        expected = killed or spec.kind != BLACKBOX or container.logs.seen_sentinel
        collected = await container.logs.collect(
            limit_bytes=_log_limit(spec), sentinels=expected,
            timeout=self.log_wait_s if expected else BLACKBOX_LOG_WAIT_S)
        reusable = status == 200 and not killed and collected.complete
        return RunOutcome(status, body, _lines(spec, collected), False, None, duration_ms,
                          container.id, timed_out=timed_out, gates=gates), reusable

    def _run_wait(self, spec: ActionSpec, payload: Mapping[str, Any]) -> float:
        """The action's time limit (or less, to its deadline) plus the margin."""
        limit = spec.timeout_ms / 1000
        with contextlib.suppress(TypeError, ValueError):
            limit = min(limit, float(payload["deadline"]) / 1000 - time.time())
        return max(0.0, limit) + self.timeout_margin_s

    async def _release(self, entry: _Entry, reusable: bool) -> None:
        async with self._cond:
            entry.busy -= 1
            entry.last_used = time.monotonic()
            if not reusable:
                self._retire(entry)  # no new runs; the ones still in it finish first
            if entry.retired:
                if entry.busy == 0 and entry.container is not None:
                    self._spawn(entry.container.destroy())
            elif entry.busy == 0:
                entry.idle_timer = asyncio.get_running_loop().call_later(
                    self.idle_timeout_s, self._on_idle, entry)
            self._cond.notify_all()

    # --- eviction and teardown --------------------------------------------------------------

    def _on_idle(self, entry: _Entry) -> None:
        entry.idle_timer = None
        self._spawn(self._expire(entry))

    async def _expire(self, entry: _Entry) -> None:
        async with self._cond:
            if entry.retired or entry.busy:
                return
            self._retire(entry)
            self._cond.notify_all()
        await self._destroy(entry)

    def _retire(self, entry: _Entry) -> None:
        """Out of the pool (its memory is free again); destroying it is the caller's job."""
        if entry.idle_timer is not None:
            entry.idle_timer.cancel()
            entry.idle_timer = None
        if not entry.retired:
            entry.retired = True
            self._entries.remove(entry)
            if entry.ready.done() and not entry.ready.exception():
                self._evicted(entry.spec.key)

    def _evicted(self, key: str) -> None:
        """Tell ``on_evict`` when no initialised container of ``key`` is left."""
        if key in self.warm_keys():
            return
        for callback in list(self.on_evict):
            callback(key)

    async def _destroy(self, entry: _Entry) -> None:
        if entry.container is not None:
            await entry.container.destroy()

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a failed background destroy is not an error to log

    async def close(self) -> None:
        """Destroy every container (busy ones too) and wait for pending destroys; idempotent."""
        self._closed = True
        async with self._cond:
            entries = list(self._entries)
            for entry in entries:
                self._retire(entry)
            self._cond.notify_all()
        await asyncio.gather(*(self._destroy(e) for e in entries), return_exceptions=True)
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _ms_since(t0: float) -> int:
    return int(round((time.monotonic() - t0) * 1000))


def _log_limit(spec: ActionSpec) -> int:
    return max(0, spec.logs_mb) * 1024 * 1024


def _lines(spec: ActionSpec, collected: Collected) -> list[str]:
    return collected.lines if spec.logs_mb > 0 else []
