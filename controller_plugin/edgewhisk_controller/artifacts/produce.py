"""After a run: register what the invoker kept, and put references in the result.

The invoker reports each produced artifact it kept (``RunOutcome.produced``, the runtime's
``ProducedArtifact``s). Why the report is checked against the plan: the report comes
from a device, so only versions the controller allocated for this activation are registered,
under the kind and locality the controller planned (a device cannot widen a locality); the
sha256, size and format are the device's, of the canonical blob it holds. A ``cloud``
artifact whose bytes reached the blob store (``upload``) gets the copies ``["cloud",
invoker]`` once the blob's digest is confirmed, otherwise ``[invoker]``.

The version's document records ``created_by`` (the activation), ``lineage`` (the consumed
versions), the owner (the invoker's, or the subject's), the ``metadata``/``metrics`` that
``main`` attached with ``edgewhisk.Output``, and its gates' verdicts (``gates``), with the
status ``gated`` when a validator gate that fired holds it back (``artifacts/gates.py``).
The result body's value under each produced name becomes ``{"artifact": {kind, name, ref,
version, key, format, size, sha256, locality, status, location}}`` (``location``: the
version's REST path; ``status``: ``ok``, or ``gated`` when a validator gate held it back, so
that a composition can stop on the platform's verdict without restating the gate's rule).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from edgewhisk_tunnel import Produce

from ..blobs import BlobNotFound
from ..stores import Doc
from . import locality as rules
from .exceptions import InvalidArtifact, StagingFailed
from .keys import blob_key, parse_key
from .registry import GATED, OK, NewArtifact

if TYPE_CHECKING:
    from edgewhisk_runtime.artifacts import ProducedArtifact

    from .registry import ArtifactRegistry

log = logging.getLogger(__name__)


async def register(registry: ArtifactRegistry, produced: Sequence[ProducedArtifact],
                   planned: Sequence[Produce], *, activation_id: str,
                   lineage: Mapping[str, Any], owner: str, invoker: str,
                   verdicts: Mapping[str, list[dict[str, Any]]] | None = None,
                   held: Iterable[str] = ()) -> dict[str, Doc]:
    """ArtifactRegistry documents of the planned outputs the invoker reports, by produced name;
    ``verdicts`` by produced name go with each, and the names ``held`` back are ``gated``."""
    gated = set(held)
    by_ref = {p.ref: p for p in planned}
    docs: dict[str, Doc] = {}
    for item in produced:
        plan = by_ref.get(item.ref)
        if plan is None or item.name != plan.name:
            log.warning("activation %s: invoker %s reported an artifact that was not planned: "
                        "%r", activation_id, invoker, item)
            continue
        ns, name, version = parse_key(plan.ref)
        copies = [invoker]
        if item.upload and await _uploaded(registry, plan, item):
            copies = [registry.blobs.NAME, invoker]
        new = NewArtifact(
            name=name, kind=plan.kind, owner=owner, locality=plan.locality,
            format=item.format or "bytes", sha256=item.sha256, size=item.size,
            created_by=activation_id, lineage=dict(lineage), metadata=dict(item.metadata),
            metrics=dict(item.metrics), status=GATED if plan.name in gated else OK,
            gates=list((verdicts or {}).get(plan.name, [])))
        try:
            docs[plan.name] = await registry.add_version(ns, version, new, copies=copies)
        except InvalidArtifact as exc:
            raise StagingFailed(f"produced {plan.kind} {plan.name!r} ({plan.ref}) was kept by "
                                f"invoker {invoker} but cannot be registered: "
                                f"{exc.message}") from None
    return docs


async def _uploaded(registry: ArtifactRegistry, plan: Produce, item: ProducedArtifact) -> bool:
    """Whether the blob store holds the uploaded bytes of ``plan`` with the reported digest;
    bytes of a non-``cloud`` artifact found there are removed (they should never arrive)."""
    ns, name, version = parse_key(plan.ref)
    key = blob_key(ns, name, version)
    if plan.locality != rules.CLOUD:
        log.warning("%s: upload of a %s artifact ignored and removed", rules.rule(
            f"{name}@{version}", plan.locality), plan.locality)
        await registry.blobs.delete(key)
        return False
    try:
        stat = await registry.blobs.stat(key)
    except BlobNotFound:
        return False
    return stat.sha256 == item.sha256 and stat.size == item.size


def reference(doc: Doc) -> dict[str, Any]:
    """What the result carries instead of the artifact's bytes."""
    return {"artifact": {
        "kind": doc["kind"], "name": doc["name"], "ref": doc["name"],
        "version": doc["version"], "key": doc["_id"], "format": doc["format"],
        "size": doc["size"], "sha256": doc["sha256"], "locality": doc["locality"],
        "status": doc.get("status", OK),
        "location": f"/api/v1/namespaces/{quote(doc['namespace'], safe='')}/artifacts/"
                    f"{doc['name']}@{doc['version']}",
    }}


def rewrite(body: Any, docs: Mapping[str, Doc]) -> Any:
    """``body`` with the value under each registered output's name made its reference."""
    if not docs or not isinstance(body, dict):
        return body
    return {**body, **{name: reference(doc) for name, doc in docs.items() if name in body}}
