"""SDK-binding stage: inject consumed artifacts, store produced ones, reference them.

Before the call: every ``consumes`` entry of the action's annotation (reported by the action
process after import, ``edgewhisk.describe(main)``) has its ``{variables}`` bound from the
activation's parameters (``edgewhisk.bind``) and is resolved to a local path through the
Resolver; the action process wraps each path in an ``edgewhisk.ArtifactHandle`` and calls
``main(args, **handles)``.

After the call: a value that ``main`` returned under a produced artifact's name has been saved
by ``edgewhisk.save_artifact`` in the action process (into a per-activation outbox); this stage
hands each file to the Sink and replaces the value in the result by
``{"artifact": {kind, name, ref, format, size, sha256, location}}``.

Undecorated actions pass straight through.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from edgewhisk_runtime.activation import Activation, Handler, Result
from edgewhisk_runtime.artifacts.interface import ArtifactRef, Resolver, Sink
from edgewhisk_runtime.exceptions import ArtifactError


def artifact_name(entry: dict[str, Any]) -> str:
    """An entry's name: explicit, else the last path segment of its ref (DESIGN.md)."""
    name = entry.get("name") or str(entry.get("ref", "")).rstrip("/").rsplit("/", 1)[-1]
    if not name:
        raise ArtifactError(f"artifact without name or ref in the annotation: {entry}")
    return name


def bind_entry(entry: dict[str, Any], params: dict[str, Any]) -> ArtifactRef:
    """The entry with its ref's variables bound from the activation's parameters."""
    import edgewhisk

    name = artifact_name(entry)
    ref = entry.get("ref")
    if ref is not None:
        try:
            ref = edgewhisk.bind(ref, params)
        except edgewhisk.AnnotationError as exc:
            raise ArtifactError(f"artifact '{name}': cannot bind '{entry['ref']}': {exc}") \
                from exc
    return ArtifactRef(entry.get("kind", "data"), name, ref, entry.get("selector"))


class BindingMiddleware:
    NAME = "binding"

    def __init__(self, resolver: Resolver, sink: Sink, outbox_root: Path) -> None:
        self.resolver = resolver
        self.sink = sink
        self.outbox_root = outbox_root

    async def __call__(self, activation: Activation, call_next: Handler) -> Result:
        annotation = activation.annotation or {}
        consumes = annotation.get("consumes") or []
        produces = annotation.get("produces") or []
        if not consumes and not produces:
            return await call_next(activation)
        params = activation.value if isinstance(activation.value, dict) else {}
        for entry in consumes:
            artifact = bind_entry(entry, params)
            resolved = await self.resolver.resolve(artifact)
            activation.consumes.append({"kind": artifact.kind, "name": artifact.name,
                                        "ref": artifact.ref, "path": str(resolved.path),
                                        "format": resolved.format})
        outputs = {artifact.name: artifact for artifact in
                   (bind_entry(entry, params) for entry in produces)}
        if not outputs:
            return await call_next(activation)
        self.outbox_root.mkdir(parents=True, exist_ok=True)
        outbox = Path(tempfile.mkdtemp(dir=self.outbox_root, prefix="outbox-"))
        activation.produces = list(outputs)
        activation.outbox = str(outbox)
        try:
            result = await call_next(activation)
            for name, saved in result.produced.items():
                stored = await self.sink.store(outputs[name], Path(saved["path"]),
                                               saved["format"])
                result.body[name] = stored.reference()
            return result
        finally:
            shutil.rmtree(outbox, ignore_errors=True)
