"""The agent's offline half: the local invoke API's answers, the copies and records it syncs,
and the work that waits for a network.

Why one object beside the agent (which only routes frames to it and tells it when it is
connected): what the device does cut off must not depend on the connection's life. In order:

- **invoke** (the local API's accepted requests): while registered, forwarded to the
  controller's REST API with the device's namespace key (``--api-key``; the one REST client,
  ``edgewhisk_client``), whose answer is returned as it is; while cut off (or when the
  controller does not answer) run here by :class:`~.local_run.LocalRunner`, or deferred when
  a network rule forbids it now (202 with the device-made activation id, as OpenWhisk answers
  an invoke that is still running);
- **sync**: the controller sends the actions this device may keep (``offline.action``, then
  ``offline.keep``); every record made here is sent as ``offline.record`` after each register
  and as soon as it is made while connected, and deleted only when ``offline.synced`` confirms
  it (the controller stores each once: a record sent twice is counted once);
- **waiting**: deferred activations are durable (``OfflineState``); each runs when the device
  joins its network (the context monitor's report), also after an agent restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from edgewhisk_client.exceptions import ClientError
from edgewhisk_client.transport import Transport
from edgewhisk_runtime.records import BLOCKING_STATUS
from edgewhisk_tunnel import Message, OfflineAction, OfflineKeep, OfflineSynced

from .config import AgentConfig
from .exceptions import LocalApiError
from .local_run import LocalRunner
from .offline_state import OfflineState, Waiting, new_activation_id

log = logging.getLogger("edgewhisk_invoker")

FORWARD_TIMEOUTS_S = (3.0, 70.0)
"""Connecting to the controller, then its answer (its longest blocking wait is 60 s). Each
forward opens its own connection (``Connection: close``): a pooled one could be a socket the
uplink silently dropped, where only the long read timeout would notice; a fresh one fails to
connect within seconds and the invoke runs here instead."""
SYNC_BATCH = 200


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def activation_headers(activation_id: str) -> dict[str, str]:
    """The controller's headers naming an answer's activation."""
    return {"X-OW-Activation-Id": activation_id, "x-openwhisk-activation-id": activation_id}


class OfflineWork:
    def __init__(self, config: AgentConfig, state: OfflineState, runner: LocalRunner, *,
                 forward: Transport | None, networks: Callable[[], frozenset[str]]) -> None:
        self.config = config
        self.state = state
        self.runner = runner
        self.forward = forward
        self.networks = networks
        self._send: Callable[[Message], Awaitable[bool]] | None = None
        self._sent: set[str] = set()   # records sent on the live connection
        self._sync_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: set[str] = set()  # waiting activations being run now

    # -- the connection --------------------------------------------------------------------------

    def connected(self, send: Callable[[Message], Awaitable[bool]]) -> None:
        self._send = send
        self._sent.clear()
        self._spawn(self.sync())

    def disconnected(self) -> None:
        self._send = None
        self._sent.clear()

    def handle(self, message: Message) -> bool:
        """Route an offline frame; False when ``message`` is not one."""
        if isinstance(message, OfflineAction):
            self.state.keep_action(message)
            log.info("keeping %s@%s for offline use", message.name, message.version)
        elif isinstance(message, OfflineKeep):
            for name in self.state.keep_only(message.names):
                log.info("dropped the offline copy of %s", name)
        elif isinstance(message, OfflineSynced):
            self.state.synced(message.activation_ids)
            self._sent.difference_update(message.activation_ids)
        else:
            return False
        return True

    async def sync(self) -> None:
        """Send every record not confirmed and not sent on this connection, oldest first."""
        async with self._sync_lock:
            while (send := self._send) is not None:
                batch = [r for r in self.state.records(limit=len(self._sent) + SYNC_BATCH)
                         if r.activation_id not in self._sent]
                if not batch:
                    return
                for record in batch:
                    if not await send(record):
                        return
                    self._sent.add(record.activation_id)

    # -- the local API ---------------------------------------------------------------------------

    def namespace(self) -> str | None:
        if self.config.namespace:
            return self.config.namespace
        names = self.state.action_names()
        return names[0].split("/", 1)[0] if names else None

    async def invoke(self, name: str, params: dict[str, Any], *, blocking: bool,
                     only_result: bool, raw: bytes, query: dict[str, str]) -> Reply:
        ns = self.namespace()
        full = f"{ns}/{name}" if ns else name
        aid = new_activation_id()
        if self._send is not None and self.forward is not None:
            waiting = self._defer(full, params, aid)  # a held copy that must wait, waits here
            if waiting is not None:
                return waiting
            reply = await self._forwarded(name, raw, query)
            if reply is not None:
                return reply
        prepared = self.runner.prepare(full, params, self.networks())
        if prepared.waits_for is not None:
            return self._wait(full, params, aid, prepared.waits_for)
        if not blocking:
            self._spawn(self._run_logged(prepared, aid))
            return Reply(202, {"activationId": aid}, activation_headers(aid))
        record = await self.runner.run(prepared, aid)
        self._spawn(self.sync())
        response = record["response"]
        body = response["result"] if only_result else record
        return Reply(BLOCKING_STATUS[response["statusCode"]], body, activation_headers(aid))

    def _defer(self, full: str, params: dict[str, Any], aid: str) -> Reply | None:
        """While connected: a copy held here whose network rule forbids it now waits on the
        device (the controller could only refuse it); anything else is the controller's."""
        try:
            prepared = self.runner.prepare(full, params, self.networks())
        except LocalApiError:
            return None
        if prepared.waits_for is None:
            return None
        return self._wait(full, params, aid, prepared.waits_for)

    def _wait(self, full: str, params: dict[str, Any], aid: str, network: str) -> Reply:
        self.state.add_waiting(Waiting(aid, network, full, params, int(time.time() * 1000)))
        log.info("activation %s of %s waits for network %s", aid, full, network)
        return Reply(202, {"activationId": aid}, activation_headers(aid))

    async def _forwarded(self, name: str, raw: bytes, query: dict[str, str]) -> Reply | None:
        """The controller's own answer, or None when it could not be reached."""
        assert self.forward is not None
        try:
            answer = await asyncio.to_thread(
                self.forward.request, "POST", f"actions/{name}", params=query, data=raw,
                headers={"Content-Type": "application/json", "Connection": "close"},
                timeout=FORWARD_TIMEOUTS_S)
        except ClientError as exc:
            log.info("forwarding %s failed (%s); running it here", name, exc)
            return None
        try:
            body = answer.json()
        except ValueError:
            body = {"error": answer.text}
        headers = {k: v for k, v in answer.headers.items()
                   if k.lower() in ("x-ow-activation-id", "x-openwhisk-activation-id")}
        return Reply(answer.status_code, body, headers)

    async def _run_logged(self, prepared: Any, aid: str) -> None:
        try:
            await self.runner.run(prepared, aid)
        except LocalApiError as exc:
            log.warning("activation %s failed to run here: %s", aid, exc)
        await self.sync()

    # -- work waiting for a network --------------------------------------------------------------

    def networks_changed(self, networks: Iterable[str]) -> None:
        joined = set(networks)
        for item in self.state.waiting():
            if item.network in joined and item.activation_id not in self._running:
                self._running.add(item.activation_id)
                self._spawn(self._run_waiting(item))

    async def _run_waiting(self, item: Waiting) -> None:
        try:
            prepared = self.runner.prepare(item.name, item.params, self.networks())
            if prepared.waits_for is not None:
                return  # left the network again, or waits for another one too
            await self.runner.run(prepared, item.activation_id)
            log.info("activation %s of %s ran on joining %s", item.activation_id, item.name,
                     item.network)
            self.state.done_waiting(item.activation_id)
        except LocalApiError as exc:
            log.warning("waiting activation %s cannot run: %s", item.activation_id, exc)
        finally:
            self._running.discard(item.activation_id)
        await self.sync()

    # -- lifecycle -------------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.forward is not None:
            self.forward.close()
        self.state.close()
