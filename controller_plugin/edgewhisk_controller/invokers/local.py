"""LocalInvoker: activations run in this process's container pool (the embedded cloud side).

Why a thin wrapper: the pool (``edgewhisk_runtime.containers``) is shared with the edge invoker,
so it must not know about placement; this class adds an id, the kinds it offers (by default
all its backend supports) and the namespaces it serves, and reports the pool's load as an
``InvokerState``.

Artifacts: with a node store (``DATA/node-store/ID``) and the registry's blob store, a run's
consumes are staged into the store (``edgewhisk_runtime.artifacts.stage``) — a missing one is
fetched from the blob store, which holds ``cloud`` artifacts only (``locality.check_move``
refuses the others, naming the rule) — and reach the action through the ``edgewhisk`` /run
field; afterwards the produces are collected into the store (pinned unless ``cloud``), and
``cloud`` ones are also put into the blob store. The store's keys are reported as the
``cached`` placement column (registry names, without namespace and version).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import edgewhisk
from edgewhisk_runtime.exceptions import ArtifactError
from edgewhisk_tunnel import Consumed, file_chunks

from ..artifacts import locality as rules
from ..artifacts.exceptions import StagingFailed
from ..artifacts.keys import blob_key, cached_name, parse_key
from ..blobs import CHUNK, BlobError, BlobStore
from ..placement.interface import InvokerState
from .interface import Invoker

if TYPE_CHECKING:
    from edgewhisk_runtime.artifacts import ConsumeSpec, ProducedArtifact
    from edgewhisk_runtime.artifacts.store import NodeStore
    from edgewhisk_runtime.containers import ActionSpec, ContainerPool, RunOutcome
    from edgewhisk_tunnel import Produce


class LocalInvoker(Invoker):
    def __init__(
        self,
        id: str,
        pool: ContainerPool,
        kinds: Iterable[str] | None = None,
        *,
        namespaces: Iterable[str] | None = None,
        attributes: Mapping[str, Any] | None = None,
        store: NodeStore | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        """``attributes``: placement attributes of ``InvokerState`` (role, owner, site,
        labels, capabilities, networks, bandwidth_mbps, cached, cpus), e.g. from --fleet.
        ``store``/``blobs``: the node store and the cloud blob store (both, or no artifacts)."""
        self.id = id
        self.pool = pool
        self.kinds = frozenset(pool.backend.kinds if kinds is None else kinds)
        self.namespaces = None if namespaces is None else frozenset(namespaces)
        self.attributes = dict(attributes or {})
        self.store, self.blobs = store, blobs
        self._declared = frozenset(self.attributes.pop("cached", ()))
        self._cached = self._declared
        self._held: frozenset[str] = frozenset()
        self.on_held: list[Callable[[LocalInvoker, frozenset[str], frozenset[str]], None]] = []
        """Called with (this invoker, keys held before, keys held now) when its node store
        changes: the app keeps placement's cached column and the registry's copies in step."""
        if store is not None:
            store.on_change = self._store_changed
            self._store_changed()
        self._closed = False

    def _store_changed(self) -> None:
        assert self.store is not None
        before, self._held = self._held, frozenset(self.store.keys())
        self._cached = self._declared | {cached_name(key) for key in self._held}
        for callback in self.on_held:
            callback(self, before, self._held)

    @property
    def held(self) -> frozenset[str]:
        """The registry keys (``ns/name@version``) in this invoker's node store."""
        return self._held

    def state(self) -> InvokerState:
        return InvokerState(
            id=self.id,
            kinds=self.kinds,
            memory_mb=self.pool.memory_mb,
            free_memory_mb=self.pool.free_memory_mb,
            in_flight=self.pool.in_flight,
            healthy=not self._closed,
            namespaces=self.namespaces,
            cached=self._cached,
            **self.attributes,
        )

    def status(self) -> dict[str, Any]:
        """What the invokers listing shows, in the fields an edge invoker's status has
        (``tunnel.remote.RemoteInvoker.status``): a local invoker is never connected through
        a tunnel, its heartbeat is this process, its version the controller's."""
        state = self.state()
        return {
            "id": self.id, "where": "local", "online": not self._closed, "connected": False,
            "healthy": state.healthy, "draining": False, "role": state.role,
            "owner": state.owner, "site": state.site, "labels": dict(state.labels),
            "capabilities": sorted(state.capabilities), "networks": sorted(state.networks),
            "kinds": sorted(self.kinds), "memory_mb": state.memory_mb,
            "free_memory_mb": state.free_memory_mb, "in_flight": state.in_flight,
            "containers": self.pool.containers, "rtt_ms": None, "last_heartbeat_s": 0.0,
            "context": {}, "version": edgewhisk.__version__, "cached": sorted(state.cached),
            "store": None if self.store is None else {
                "used_bytes": self.store.used_bytes, "capacity_bytes": self.store.capacity_bytes},
        }

    async def run(self, spec: ActionSpec, value: Any, fields: Mapping[str, str], *,
                  consumes: Sequence[Consumed] = (),
                  produces: Sequence[Produce] = ()) -> RunOutcome:
        if not consumes and not produces:
            return await self.pool.run(spec, value, fields)
        if self.store is None or self.blobs is None:
            raise StagingFailed(f"invoker {self.id} has no node store: it cannot run an "
                                "activation that consumes or produces artifacts")
        from edgewhisk_runtime.artifacts.stage import run_field, stage, workspace

        store = self.store
        with workspace(store, [c.key for c in consumes]) as produce_root:
            try:
                staged = await stage(store, consumes, self._fetch, tmp=store.tmp)
            except ArtifactError as exc:
                raise StagingFailed(f"invoker {self.id} could not stage the consumed "
                                    f"artifacts: {exc}") from None
            outcome = await self.pool.run(spec, value,
                                          {**fields, **run_field(staged, produce_root)})
            if produces:
                outcome = replace(outcome, produced=await self._keep(outcome, produces,
                                                                     produce_root))
            return outcome

    async def preload(self, doc: Mapping[str, Any]) -> str:
        """Put a registry version into the node store ahead of need (an unpinned cache):
        ``cached`` when it is there already, else ``preloaded``."""
        if self.store is None or self.blobs is None:
            raise StagingFailed(f"invoker {self.id} has no node store to preload into")
        from edgewhisk_runtime.artifacts.stage import stage

        entry = self.store.get(doc["_id"])
        if entry is not None and entry.sha256 == doc["sha256"]:
            return "cached"
        consumed = Consumed(name="preload", kind=doc["kind"], key=doc["_id"],
                            sha256=doc["sha256"], size=doc["size"], format=doc["format"],
                            locality=doc["locality"])
        try:
            await stage(self.store, [consumed], self._fetch, tmp=self.store.tmp)
        except ArtifactError as exc:
            raise StagingFailed(f"invoker {self.id} could not preload {doc['_id']}: "
                                f"{exc}") from None
        return "preloaded"

    async def _fetch(self, consumed: ConsumeSpec, dest: Path) -> None:
        """Stage a missing blob from the cloud blob store (``cloud`` artifacts only)."""
        ns, name, version = parse_key(consumed.key)
        doc = {"name": name, "version": version, "locality": consumed.locality}
        rules.check_move(doc, to=self.state(), from_=rules.CLOUD)
        assert self.blobs is not None
        try:
            with open(dest, "wb") as out:
                async for chunk in self.blobs.get(blob_key(ns, name, version)):
                    out.write(chunk)
        except BlobError as exc:
            raise StagingFailed(f"invoker {self.id} could not fetch artifact "
                                f"{consumed.key} from the blob store: {exc}") from None

    async def _keep(self, outcome: RunOutcome, produces: Sequence[Produce],
                    produce_root: Path) -> tuple[ProducedArtifact, ...]:
        """Collect the produces into the store; put ``cloud`` ones into the blob store."""
        from edgewhisk_runtime.artifacts.stage import collect

        assert self.store is not None and self.blobs is not None
        try:
            kept = await collect(self.store, outcome.response, produces, produce_root)
        except ArtifactError as exc:
            raise StagingFailed(f"invoker {self.id} could not keep the produced artifacts: "
                                f"{exc}") from None
        return tuple([replace(item, upload=await self._upload(item))
                      if item.locality == rules.CLOUD else item for item in kept])

    async def _upload(self, item: ProducedArtifact) -> str:
        """Put a produced ``cloud`` artifact's blob into the blob store; its blob key."""
        assert self.store is not None and self.blobs is not None
        entry, path = self.store.open_blob(item.ref)
        ns, name, version = parse_key(item.ref)
        key = blob_key(ns, name, version)
        try:
            await self.blobs.put(key, file_chunks(path, chunk=CHUNK), sha256=entry.sha256)
        except BlobError as exc:
            raise StagingFailed(f"invoker {self.id} could not put produced artifact "
                                f"{item.ref} into the blob store: {exc}") from None
        return key

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.pool.close()
