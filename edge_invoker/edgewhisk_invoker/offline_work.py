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
- **artifacts made offline**: ``offline.synced`` names the registry key allocated for each
  provisional key a record produced; the node store keeps the bytes under it from then on,
  and a ``cloud`` one is uploaded (listed durably by the run until the controller took it, so
  an agent restart or a lost connection only delays it) — only while the device is on the
  networks a strict ``policy.data`` of the action that made it names: data confined to
  ``corp`` moves only over ``corp``, so such an upload waits for the device to join it, as the
  activation did. ``local`` and ``network:`` ones stay here;
- **waiting**: deferred activations are durable (``OfflineState``); each runs when the device
  joins its network (the context monitor's report), also after an agent restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edgewhisk_client.exceptions import ClientError
from edgewhisk_client.transport import Transport
from edgewhisk_runtime.records import ASKING_DEVICE_HEADER, BLOCKING_STATUS
from edgewhisk_tunnel import PROVISIONAL, Message, OfflineAction, OfflineKeep, OfflineSynced

from .config import AgentConfig
from .exceptions import LocalApiError
from .local_run import LocalRunner, outside
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
        self._upload_lock = asyncio.Lock()
        self._held_back: set[str] = set()  # uploads waiting for a network (logged once)
        self._networks: set[str] | None = None  # the last networks reported
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: set[str] = set()  # waiting activations being run now

    # -- the connection --------------------------------------------------------------------------

    def connected(self, send: Callable[[Message], Awaitable[bool]]) -> None:
        self._send = send
        self._sent.clear()
        self._spawn(self.sync())
        self._spawn(self.upload())

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
            self._registered(message.artifacts)  # before the records are forgotten
            self._unregistered(message.activation_ids, message.artifacts)
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

    # -- artifacts produced offline --------------------------------------------------------------

    def _registered(self, keys: Mapping[str, str]) -> None:
        """Keep each artifact under the key the registry allocated (its upload, listed by the
        run for a ``cloud`` one, too). A provisional key no longer held was renamed before
        (a repeated answer)."""
        store = self.runner.artifacts.store
        if not keys or store is None:
            return
        for provisional, key in keys.items():
            if store.peek(provisional) is not None:
                store.rename(provisional, key)
                log.info("produced %s is registered as %s", provisional, key)
            self.state.rename_upload(provisional, key)
        self._spawn(self.upload())

    def _unregistered(self, activation_ids: Iterable[str], keys: Mapping[str, str]) -> None:
        """Outputs of these records that the controller did not register (it refused them,
        or keeps no registry) will never get a version: their bytes leave the store."""
        store = self.runner.artifacts.store
        for aid in activation_ids:
            record = self.state.record(aid)
            for produced in record.outcome.produced if record is not None else ():
                if produced.ref in keys:
                    continue
                if store is not None:
                    store.remove(produced.ref)
                self.state.uploaded(produced.ref)
                log.warning("produced %s was not registered by the controller; dropped",
                            produced.ref)

    async def upload(self) -> None:
        """Push every listed ``cloud`` artifact that has its registry key, while connected and
        on the networks the action that made it confines its data to (else it waits: the
        agent tries again on every change of networks and every connection); each leaves the
        list once the controller took it (one gone from the store is dropped from it)."""
        artifacts = self.runner.artifacts
        async with self._upload_lock:
            for key, confined in self.state.uploads():
                if self._send is None or artifacts.transfers is None:
                    return
                if f"@{PROVISIONAL}" in key:
                    continue  # not registered yet: its record syncs first
                network = outside(confined, set(self.networks()))
                if network is not None:
                    if key not in self._held_back:
                        self._held_back.add(key)
                        log.info("upload of %s waits for network %s", key, network)
                    continue
                self._held_back.discard(key)
                if artifacts.store is None or artifacts.store.peek(key) is None:
                    self.state.uploaded(key)
                    continue
                if await artifacts.upload(key) is not None:
                    self.state.uploaded(key)
                    log.info("uploaded %s, produced offline", key)

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
                headers={"Content-Type": "application/json", "Connection": "close",
                         ASKING_DEVICE_HEADER: self.config.id},  # preferred where allowed
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
        if joined != self._networks:
            self._networks = joined
            log.info("on networks: %s", ", ".join(sorted(joined)) or "none")
        if self._held_back:
            self._spawn(self.upload())
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
