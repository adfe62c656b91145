"""The device's artifacts: its node store, and the transfers of the live connection.

Why one object beside the agent: a run's artifacts outlive connections (the store is on disk,
``--store DIR``, within ``--store-cap``), while transfers belong to one connection. So the
agent makes a :class:`~edgewhisk_tunnel.transfers.Transfers` per connection through
:meth:`DeviceArtifacts.connected` and drops it in :meth:`DeviceArtifacts.disconnected`
(every open transfer fails); everything else stays.

What it does for a run (:meth:`DeviceArtifacts.around`): stages the consumed versions into
the store (a hit with the same sha256 is used as it is; a miss is pulled from the controller,
which serves it from its blob store or relays it from a peer device), hands their paths to
the runtime in the ``edgewhisk`` /run field, collects what the action produced into the store
(pinned unless ``cloud``) and pushes each ``cloud`` one to the controller (``upload``) before
the result. For the controller it serves ``artifact.get`` of any stored key — the controller
enforces locality; the device only never sends a ``local`` artifact (defence in depth, the
same sentence as the controller's rule) — and accepts ``preload`` offers as unpinned caches.
Every store change is reported (``context.cached``) through ``on_change``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import edgewhisk_runtime.artifacts.stage as staging
from edgewhisk_runtime.artifacts import ConsumeSpec, ProducedArtifact
from edgewhisk_runtime.artifacts.store import NodeStore
from edgewhisk_runtime.containers import RunOutcome
from edgewhisk_runtime.exceptions import ArtifactError
from edgewhisk_tunnel import PROVISIONAL, ArtifactGet, ArtifactOffer, Message, Run
from edgewhisk_tunnel.progress import ProgressLog
from edgewhisk_tunnel.transfers import (
    CACHED,
    Incoming,
    Outgoing,
    TransferCounts,
    TransferError,
    TransferRefused,
    Transfers,
    file_chunks,
    save,
)

from .frames import offer_of

log = logging.getLogger("edgewhisk_invoker")

LOCAL = "local"
CLOUD = "cloud"


class StagingError(Exception):
    """A run's artifacts could not be staged or kept; ``str()`` names the artifact."""


def local_rule(name: str) -> str:
    """The controller's sentence for a ``local`` artifact (``artifacts/locality.rule``)."""
    return f"artifact {name} is local to its device; only its metadata leaves it"


def _name(key: str) -> str:
    """``ns/u1/glucose@3`` -> ``u1/glucose@3`` (how the controller's rules name a version)."""
    return key.partition("/")[2] or key


class DeviceArtifacts:
    """The node store (None: this device keeps no artifacts) and the current transfers."""

    def __init__(self, store: NodeStore | None, invoker_id: str, *, window: int = 8) -> None:
        self.store = store
        self.invoker_id = invoker_id
        self.window = window
        self.transfers: Transfers | None = None
        self.counts = TransferCounts()  # over every connection: the agent's metrics
        self._on_change: Callable[[], None] | None = None
        self._quiet = 0  # runs keeping produces whose result reports the store (protocol 2)

    def keys(self) -> tuple[str, ...]:
        """The registry keys held (reported as ``cached``): not the provisional keys of
        artifacts produced offline, which no registry version is yet."""
        return tuple(k for k in self.store.keys() if f"@{PROVISIONAL}" not in k) \
            if self.store is not None else ()

    def watch(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change`` after every store change (the agent reports context.cached)."""
        self._on_change = on_change
        if self.store is not None:
            self.store.on_change = self._changed

    def _changed(self) -> None:
        """Every store change is reported, except while a run keeps its produces ``quiet``:
        its result names the store's keys after it (``Result.cached``, protocol 2)."""
        if not self._quiet and self._on_change is not None:
            self._on_change()

    # -- connections ---------------------------------------------------------------------------

    def connected(self, send: Callable[[Message], Awaitable[bool]]) -> Transfers:
        self.transfers = Transfers(send, window=self.window, on_request=self._serve,
                                   on_offer=self._accept, counts=self.counts,
                                   on_progress=ProgressLog(log.info, prefix=f"{self.invoker_id}:"
                                                           " artifact"))
        return self.transfers

    async def disconnected(self) -> None:
        transfers, self.transfers = self.transfers, None
        if transfers is not None:
            await transfers.close()

    # -- one run -------------------------------------------------------------------------------

    async def around(self, run: Run,
                     call: Callable[[dict[str, str]], Awaitable[RunOutcome]], *,
                     upload: bool = True, quiet: bool = False) -> RunOutcome:
        """Stage ``run``'s consumes, ``call(fields)`` the pool, keep and upload its produces
        (``upload`` False: keep only — an offline run's are uploaded once their versions
        exist; ``quiet``: keeping them reports nothing, the caller's result will).
        ``StagingError`` when an artifact cannot be brought or kept (a whisk error)."""
        fields = dict(run.fields)
        if not run.consumes and not run.produces:
            return await call(fields)
        store = self.store
        if store is None:
            raise StagingError(f"edge invoker {self.invoker_id} has no artifact store (start "
                               f"it with --store DIR); it cannot run an activation that "
                               f"consumes or produces artifacts")
        with staging.workspace(store, [c.key for c in run.consumes]) as produce_root:
            try:
                staged = await staging.stage(store, run.consumes, self._fetch, tmp=store.tmp)
            except (ArtifactError, TransferError, OSError) as exc:
                raise StagingError(f"edge invoker {self.invoker_id} could not stage the "
                                   f"consumed artifacts: {exc}") from None
            outcome = await call({**fields, **staging.run_field(staged, produce_root)})
            if not run.produces:
                return outcome
            self._quiet += quiet
            try:
                kept = await self._keep(run, outcome, produce_root, upload=upload)
            except BaseException:
                if quiet:  # no result will name the store: a report does
                    self._quiet -= 1
                    self._changed()
                raise
            self._quiet -= quiet
            return replace(outcome, produced=kept)

    async def _fetch(self, consumed: ConsumeSpec, dest: Path) -> None:
        """A missing blob, pulled from the controller into ``dest`` (size capped)."""
        transfers = self.transfers
        if transfers is None:
            raise TransferError(f"artifact {consumed.key}: not connected to the controller")
        incoming = await transfers.fetch(consumed.key)
        await save(incoming, dest, max_size=consumed.size)

    async def _keep(self, run: Run, outcome: RunOutcome, produce_root: Path, *,
                    upload: bool) -> tuple[ProducedArtifact, ...]:
        assert self.store is not None
        try:
            kept = await staging.collect(self.store, outcome.response, run.produces,
                                         produce_root)
        except (ArtifactError, OSError) as exc:
            raise StagingError(f"edge invoker {self.invoker_id} could not keep the produced "
                               f"artifacts: {exc}") from None
        return tuple([replace(item, upload=await self.upload(item.ref))
                      if upload and item.locality == CLOUD else item for item in kept])

    async def upload(self, key: str) -> str | None:
        """Push the produced ``cloud`` artifact ``key`` to the controller; its transfer id, or
        None when it could not go (the bytes stay here and the registry says so)."""
        assert self.store is not None
        transfers = self.transfers
        if transfers is None:
            log.warning("produced %s stays on this device: not connected", key)
            return None
        entry, path = self.store.open_blob(key)
        offer = offer_of(entry, Transfers.new_id(), "upload")
        try:
            await transfers.push(offer, file_chunks(path))
        except TransferError as exc:
            log.warning("produced %s stays on this device: upload failed: %s", key, exc)
            return None
        return offer.transfer_id

    # -- the controller's requests -------------------------------------------------------------

    async def _serve(self, get: ArtifactGet) -> Outgoing:
        """An ``artifact.get`` of a stored key (never a ``local`` one)."""
        entry = self.store.get(get.ref) if self.store is not None else None
        if entry is None:
            raise TransferRefused(f"artifact {get.ref} is not on invoker {self.invoker_id}")
        if entry.locality == LOCAL:
            raise TransferRefused(f"{local_rule(_name(entry.key))}: refused to send it from "
                                  f"invoker {self.invoker_id}")
        assert self.store is not None
        entry, path = self.store.open_blob(get.ref)
        return Outgoing(entry.size, entry.sha256, entry.format, file_chunks(path))

    async def _accept(self, offer: ArtifactOffer, incoming: Incoming) -> None:
        """A ``preload``: into the store as an unpinned cache (refused when it cannot fit)."""
        store = self.store
        if store is None:
            raise TransferRefused(f"invoker {self.invoker_id} keeps no artifacts (no --store)")
        if offer.purpose != "preload":
            raise TransferRefused(f"invoker {self.invoker_id} accepts preloads only, not "
                                  f"{offer.purpose}")
        held = store.get(offer.ref)
        if held is not None and held.sha256 == offer.sha256:
            raise TransferRefused(f"{CACHED}: invoker {self.invoker_id} holds {offer.ref}")
        if offer.size > store.capacity_bytes:
            raise TransferRefused(f"artifact {offer.ref} ({offer.size} bytes) exceeds the "
                                  f"store of invoker {self.invoker_id} "
                                  f"({store.capacity_bytes} bytes)")
        fd, name = tempfile.mkstemp(dir=store.tmp, prefix="preload-")
        os.close(fd)
        blob = Path(name)
        try:
            await save(incoming, blob, max_size=offer.size)
            await store.add_blob(offer.ref, blob, sha256=offer.sha256, size=offer.size,
                                 format=offer.format, kind=offer.kind,
                                 locality=offer.locality, pinned=False)
        except ArtifactError as exc:
            raise TransferRefused(str(exc)) from None
        finally:
            blob.unlink(missing_ok=True)
