"""Artifacts around one run on an invoker: stage the consumes before, collect the produces after.

Why shared: the edge agent and the controller's own (cloud) invoker do the same two steps and
differ only in where a missing blob comes from — the tunnel or the blob store — so that is the
one thing they pass in (``fetch``). Both work on the invoker's :class:`NodeStore`.

- :func:`stage` makes every consumed artifact (a :class:`~.values.ConsumeSpec`, such as the
  tunnel's ``Consumed``) a local path: a store entry with the same sha256 is used as is;
  otherwise ``fetch`` writes the blob into a scratch file and the store verifies and keeps it
  as an unpinned cache. The result is the ``consumes`` part of the ``edgewhisk`` /run field
  (:func:`run_field`). Concurrent runs needing the same missing key share one fetch.
- :func:`collect` keeps what the action produced: each produce (a
  :class:`~.values.ProduceSpec`, such as the tunnel's ``Produce``) whose name the result body
  holds as an ``{"artifact": {...}}`` reference is ingested from its ``location`` (which must
  lie inside the run's ``produce_root``) under its ``ref``, pinned unless its locality is
  ``cloud``, and becomes a :class:`~.values.ProducedArtifact` carrying the metadata and
  metrics ``main`` attached to it (``edgewhisk.Output``).
- :func:`workspace` and :func:`run_field` are the steps around them that both invokers also
  take alike: lease the consumes and make a produce root, hand the staged paths to the runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from edgewhisk_runtime.artifacts.store import Entry, NodeStore
from edgewhisk_runtime.artifacts.values import ConsumeSpec, ProducedArtifact, ProduceSpec
from edgewhisk_runtime.exceptions import ArtifactError

STAGED_FIELD = "edgewhisk"
"""The /run field by which an invoker hands over staged artifacts (written by :func:`run_field`,
read by the runtime's binding stage, which sits above this package)."""
Fetch = Callable[[ConsumeSpec, Path], Awaitable[None]]
_inflight: weakref.WeakKeyDictionary[NodeStore, dict[str, asyncio.Future[None]]] = \
    weakref.WeakKeyDictionary()


async def _fetch_into(store: NodeStore, consumed: ConsumeSpec, fetch: Fetch,
                      tmp: Path) -> None:
    """Fetch one missing blob into ``tmp`` and hand it to the store (scratch file removed)."""
    tmp.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp, prefix="fetch-", suffix=".blob")
    os.close(fd)
    blob = Path(name)
    try:
        await fetch(consumed, blob)
        await store.add_blob(consumed.key, blob, sha256=consumed.sha256, size=consumed.size,
                             format=consumed.format, kind=consumed.kind,
                             locality=consumed.locality, pinned=False)
    finally:
        blob.unlink(missing_ok=True)


async def _ensure(store: NodeStore, consumed: ConsumeSpec, fetch: Fetch, tmp: Path) -> None:
    """Have ``consumed`` in the store with its sha256, fetching it at most once at a time."""
    key = consumed.key
    while True:
        entry = store.peek(key)  # ``stage`` marks it used when it takes the path
        if entry is not None and entry.sha256 == consumed.sha256:
            return
        running = _inflight.setdefault(store, {})
        if key not in running:
            break
        await asyncio.shield(running[key])  # another run fetches it; re-check after
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    running[key] = future
    try:
        await _fetch_into(store, consumed, fetch, tmp)
    finally:
        del running[key]
        future.set_result(None)


async def stage(store: NodeStore, consumes: Sequence[ConsumeSpec], fetch: Fetch, *,
                tmp: Path) -> dict[str, dict[str, Any]]:
    """``{name: {"path", "format", "key"[, "reference"]}}`` of every consumed artifact, fetched
    into ``store`` if missing (``fetch(consumed, file)`` must write the canonical blob to
    ``file``); ``key`` and a model's training ``reference`` are for the runtime's gate stage."""
    staged: dict[str, dict[str, Any]] = {}
    for consumed in consumes:
        await _ensure(store, consumed, fetch, tmp)
        path = await asyncio.to_thread(store.path, consumed.key)
        staged[consumed.name] = {"path": str(path), "format": consumed.format,
                                 "key": consumed.key}
        if consumed.reference is not None:
            staged[consumed.name]["reference"] = dict(consumed.reference)
    return staged


def location_path(location: str) -> Path:
    """The local path a produced artifact's ``location`` (a ``file:`` URI or a path) names."""
    parsed = urlparse(location)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(location)


def _location(location: str, root: Path, name: str) -> Path:
    """The local path of a produced artifact's ``location``, refused unless inside ``root``."""
    resolved = location_path(location).resolve()
    if root not in resolved.parents:
        raise ArtifactError(f"produced artifact '{name}': location {location} is not inside "
                            f"the run's produce root {root}; not stored")
    if not resolved.exists():
        raise ArtifactError(f"produced artifact '{name}': nothing at {location}")
    return resolved


async def _keep(store: NodeStore, produce: ProduceSpec, reference: Mapping[str, Any],
                root: Path) -> Entry:
    name = produce.name
    path = _location(str(reference.get("location", "")), root, name)
    fmt = reference.get("format") or ("directory" if path.is_dir() else "bytes")
    entry = await store.ingest(produce.ref, path, format=fmt, kind=produce.kind,
                               locality=produce.locality, pinned=produce.locality != "cloud")
    expected = reference.get("sha256")
    if expected is not None and expected != entry.sha256:
        store.remove(entry.key)
        raise ArtifactError(f"produced artifact '{name}' changed after it was saved (sha256 "
                            f"{entry.sha256}, the result says {expected}); not stored")
    return entry


async def collect(store: NodeStore, body: Any, produces: Sequence[ProduceSpec],
                  produce_root: Path) -> list[ProducedArtifact]:
    """Ingest every produced artifact the result ``body`` references; what was kept.

    All or nothing: when one cannot be kept, those already ingested by this call are removed
    and the ArtifactError propagates."""
    root = produce_root.resolve()
    kept: list[ProducedArtifact] = []
    try:
        for produce in produces:
            value = body.get(produce.name) if isinstance(body, dict) else None
            reference = value.get("artifact") if isinstance(value, dict) else None
            if not isinstance(reference, dict):
                continue
            entry = await _keep(store, produce, reference, root)
            kept.append(ProducedArtifact(
                name=produce.name, kind=produce.kind, ref=entry.key, format=entry.format,
                size=entry.size, sha256=entry.sha256, locality=produce.locality,
                metadata=reference.get("metadata") or {}, metrics=reference.get("metrics") or {}))
    except BaseException:
        for done in kept:
            store.remove(done.ref)
        raise
    return kept


@contextlib.contextmanager
def workspace(store: NodeStore, keys: Iterable[str]) -> Iterator[Path]:
    """A fresh produce root for one run, with ``keys`` (its consumes) leased from before
    staging until the run ended, so no eviction takes them meanwhile; removed afterwards."""
    with store.lease(keys):
        work = Path(tempfile.mkdtemp(dir=store.tmp, prefix="run-"))
        try:
            produce_root = work / "produced"
            produce_root.mkdir()
            yield produce_root
        finally:
            shutil.rmtree(work, ignore_errors=True)


def run_field(staged: Mapping[str, Any], produce_root: Path) -> dict[str, str]:
    """The ``edgewhisk`` /run field that hands the staged paths and the produce root to the
    runtime's binding stage."""
    return {STAGED_FIELD: json.dumps({"consumes": dict(staged),
                                      "produce_root": str(produce_root)})}
