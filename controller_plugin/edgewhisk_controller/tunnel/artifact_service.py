"""The controller's end of artifact transfers: what edge devices pull, push and hold.

Why here and not in the agent: the controller is the one place that knows the registry and
every device, so it decides every move (``artifacts/locality.check_move``, the rule named in
each refusal) and the devices obey. Per tunnel session a :class:`Transfers`
(``edgewhisk_tunnel.transfers``) is made by :meth:`ArtifactService.session_transfers`:

- a device's ``artifact.get`` of ``ns/name@version`` (staging a run's consumes) is served from
  the blob store when the version has a ``cloud`` copy, else relayed from an online peer
  device holding it: pulled from that device and streamed on, chunk by chunk within both
  credits, so the bytes never touch the controller's disk (``network:`` artifacts move only
  between members of their network; a ``local`` one never moves);
- a device's ``upload`` offer (a produced ``cloud`` artifact) is accepted only for a version
  planned for an activation running there (before its result), or for a ``cloud`` version
  produced there whose one copy is that device (a record it made offline registered it:
  ``dispatch/offline_artifacts.py``; the offer's digest must be the version's),
  and streamed into the blob store under that version's key with its sha256 verified (the
  latter then gains its ``cloud`` copy here);
- :meth:`ArtifactService.push` preloads a ``cloud`` version from the blob store to a device
  (``cached`` when the device holds it already);
- :meth:`ArtifactService.held` keeps the registry's ``copies`` in step with what each device
  reports holding (``register.cached`` / ``context.cached``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from edgewhisk_tunnel import ArtifactGet, ArtifactOffer, Message
from edgewhisk_tunnel.progress import ProgressLog
from edgewhisk_tunnel.transfers import (
    CACHED,
    Incoming,
    Outgoing,
    TransferError,
    TransferRefused,
    Transfers,
)

from ..artifacts import locality as rules
from ..artifacts.exceptions import (
    ArtifactNotFound,
    InvalidArtifact,
    LocalityRefused,
    StagingFailed,
)
from ..artifacts.keys import blob_key, parse_key
from ..blobs import BlobError
from ..stores import Doc
from .remote import RemoteInvoker
from .tokens import DeviceToken

if TYPE_CHECKING:
    from ..artifacts.registry import ArtifactRegistry

log = logging.getLogger(__name__)

WINDOW = 8
"""Chunks of credit per transfer (8 x 256 KiB in flight)."""


class Link(Protocol):
    """A device's tunnel connection as the service sees it (``Session``): whose it is, the
    invoker it registered as, and how to send. A Protocol, so the session can sit above."""

    token: DeviceToken
    invoker: RemoteInvoker | None

    async def send(self, message: Message) -> bool: ...


class ArtifactService:
    """Artifact transfers of every session of one hub (``registry`` None: none served)."""

    def __init__(self, registry: ArtifactRegistry | None,
                 devices: dict[str, RemoteInvoker]) -> None:
        self.registry = registry
        self.devices = devices
        self._pushing: dict[tuple[str, str], asyncio.Future[str]] = {}  # (device, version)

    def session_transfers(self, session: Link) -> Transfers:
        async def on_request(get: ArtifactGet) -> Outgoing:
            return await self.serve(session, get)

        async def on_offer(offer: ArtifactOffer, incoming: Incoming) -> None:
            await self.accept(session, offer, incoming)

        progress = ProgressLog(log.info, prefix=f"tunnel {session.token.id}: artifact")
        return Transfers(session.send, window=WINDOW, on_request=on_request, on_offer=on_offer,
                         on_progress=progress)

    # -- a device pulls ------------------------------------------------------------------------

    async def serve(self, session: Link, get: ArtifactGet) -> Outgoing:
        """The bytes of ``get.ref`` for the device of ``session``, or a refusal naming why."""
        device = session.invoker
        assert device is not None  # transfers exist only after register
        doc = await self._doc(device, get.ref)
        try:
            rules.check_move(doc, to=device.state())
        except LocalityRefused as exc:
            raise TransferRefused(exc.message) from None
        size, sha, fmt = int(doc["size"]), str(doc["sha256"]), str(doc["format"])
        if self.registry is not None and self.registry.blobs.NAME in doc.get("copies", []):
            ns, name, version = parse_key(get.ref)
            return Outgoing(size, sha, fmt, self.registry.blobs.get(blob_key(ns, name, version)))
        return Outgoing(size, sha, fmt, await self._relay(doc, device))

    async def _relay(self, doc: Doc, to: RemoteInvoker) -> Any:
        """The chunks of ``doc`` pulled from an online peer that may send it to ``to``."""
        reasons = []
        for holder in self._holders(doc, exclude=to.id):
            try:
                rules.check_move(doc, to=to.state(), from_=holder.state())
            except LocalityRefused as exc:
                reasons.append(exc.message)
                continue
            transfers = holder.session.transfers if holder.session is not None else None
            if transfers is None:
                continue
            try:
                incoming = await transfers.fetch(doc["_id"])
            except TransferError as exc:
                reasons.append(f"invoker {holder.id}: {exc}")
                continue
            log.info("relaying %s from invoker %s to invoker %s", doc["_id"], holder.id, to.id)
            return incoming.chunks()
        why = "; ".join(reasons) or "no online invoker holds it and it has no cloud copy"
        raise TransferRefused(f"artifact {rules.label(doc)} cannot be sent to invoker "
                              f"{to.id}: {why}")

    def _holders(self, doc: Doc, *, exclude: str) -> list[RemoteInvoker]:
        copies = doc.get("copies", [])
        return [d for id, d in sorted(self.devices.items())
                if id in copies and id != exclude and d.healthy and d.namespace == doc["namespace"]]

    async def _doc(self, device: RemoteInvoker, ref: str) -> Doc:
        if self.registry is None:
            raise TransferRefused("this controller has no artifact registry")
        try:
            ns, name, version = parse_key(ref)
            if ns != device.namespace:
                raise TransferRefused(f"artifact {ref} is not in namespace {device.namespace} "
                                      f"of invoker {device.id}")
            return await self.registry.get(ns, name, version)
        except (InvalidArtifact, ArtifactNotFound) as exc:
            raise TransferRefused(exc.message) from None

    # -- a device uploads ----------------------------------------------------------------------

    async def accept(self, session: Link, offer: ArtifactOffer, incoming: Incoming) -> None:
        """Keep an ``upload`` of a ``cloud`` version planned for a run on that device."""
        device = session.invoker
        assert device is not None
        if offer.purpose != "upload":
            raise TransferRefused(f"the controller accepts uploads only, not {offer.purpose}")
        if self.registry is None:
            raise TransferRefused("this controller has no artifact registry")
        synced = None
        if device.planned_upload(offer.ref) is None:
            synced = await self._made_offline(device, offer)
        ns, name, version = parse_key(offer.ref)
        if offer.size > self.registry.max_size:
            raise TransferRefused(f"artifact {offer.ref} ({offer.size} bytes) exceeds the "
                                  f"{self.registry.max_size}-byte limit")
        try:
            await self.registry.blobs.put(blob_key(ns, name, version), incoming.chunks(),
                                          sha256=offer.sha256, max_size=offer.size)
        except BlobError as exc:
            raise TransferRefused(f"artifact {offer.ref}: {exc}") from None
        if synced is not None:
            await self.registry.add_copy(synced["_id"], self.registry.blobs.NAME)
        log.info("invoker %s uploaded %s (%d bytes)", device.id, offer.ref, offer.size)

    async def _made_offline(self, device: RemoteInvoker, offer: ArtifactOffer) -> Doc:
        """The registry version of an upload of a ``cloud`` artifact the device produced
        offline, or a refusal naming why it is not one."""
        try:
            doc = await self._doc(device, offer.ref)
        except TransferRefused:
            doc = None
        if doc is None or doc.get("locality") != rules.CLOUD or not doc.get("created_by") \
                or doc.get("copies") != [device.id]:
            raise TransferRefused(f"artifact {offer.ref} is not a cloud artifact produced by "
                                  f"an activation running on invoker {device.id}, nor one it "
                                  f"produced offline and holds alone")
        if (doc.get("sha256"), doc.get("size")) != (offer.sha256, offer.size):
            raise TransferRefused(f"artifact {offer.ref}: the offer is not its registered "
                                  f"content ({doc.get('size')} bytes, sha256 {doc.get('sha256')})")
        return doc

    # -- the controller pushes -----------------------------------------------------------------

    async def push(self, invoker_id: str, doc: Doc) -> str:
        """Preload ``doc`` (a ``cloud`` version) to an online device: ``preloaded`` or
        ``cached``; ``StagingFailed``/``LocalityRefused`` naming why not. A push asked while
        the same version is on its way to the device (a standing policy and a one-shot
        preload, two controllers of a cluster) waits for that one: one transfer, whose
        outcome both answer."""
        key = (invoker_id, str(doc["_id"]))
        joined = self._pushing.get(key)
        if joined is not None:
            return await asyncio.shield(joined)
        done = self._pushing[key] = asyncio.get_running_loop().create_future()
        try:
            status = await self._push(invoker_id, doc)
        except BaseException as exc:
            done.set_exception(exc if isinstance(exc, Exception) else StagingFailed(
                f"preloading {doc['_id']} to invoker {invoker_id} was cancelled"))
            done.exception()  # retrieved: an error nobody joined is not logged as lost
            raise
        finally:
            del self._pushing[key]
        done.set_result(status)
        return status

    async def _push(self, invoker_id: str, doc: Doc) -> str:
        device = self.devices.get(invoker_id)
        session = device.session if device is not None else None
        if device is None or session is None or session.transfers is None or not device.online:
            raise StagingFailed(f"invoker {invoker_id} is not connected")
        rules.check_preload(doc)
        rules.check_move(doc, to=device.state(), from_=rules.CLOUD)
        assert self.registry is not None
        offer = ArtifactOffer(Transfers.new_id(), doc["_id"], int(doc["size"]),
                              str(doc["sha256"]), str(doc["format"]), str(doc["kind"]),
                              str(doc["locality"]), "preload")
        blob = self.registry.blobs.get(blob_key(doc["namespace"], doc["name"], doc["version"]))
        try:
            await session.transfers.push(offer, blob)
        except TransferRefused as exc:
            if str(exc).startswith(CACHED):
                return "cached"
            raise StagingFailed(f"invoker {invoker_id} refused {doc['_id']}: {exc}") from None
        except (TransferError, BlobError) as exc:
            raise StagingFailed(f"preloading {doc['_id']} to invoker {invoker_id} failed: "
                                f"{exc}") from None
        return "preloaded"

    # -- what devices hold ---------------------------------------------------------------------

    def held(self, device: RemoteInvoker, now: Iterable[str]) -> None:
        """The device reports holding ``now``: registry ``copies`` follow."""
        if self.registry is not None:
            self.registry.follow(device.id, now, namespace=device.namespace)
