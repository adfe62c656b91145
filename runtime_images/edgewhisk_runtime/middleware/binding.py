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

Staged by an invoker (``edgewhisk`` /run field, :data:`STAGED_FIELD`): an edge agent or the
controller's local invoker has already put every consumed artifact in its node store and
sends ``{"consumes": {NAME: {"path", "format", "key", "reference"}}, "produce_root": DIR}`` (a
JSON string, as every /run field is a string; ``key`` names the registry version, ``reference``
is a model's training reference, both for the gate stage). Then consumed paths come from the
field (no Resolver call: the invoker resolved versions and enforced locality) and produced
artifacts go to a ``FilesystemSink`` rooted at ``produce_root``, where the invoker collects
them. Without the field (a standalone runtime, ``--artifacts DIR``) the Resolver and Sink
given at start serve.

Undecorated actions pass straight through.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from edgewhisk_runtime.activation import Activation, Handler, Result
from edgewhisk_runtime.artifacts.filesystem import FilesystemSink
from edgewhisk_runtime.artifacts.interface import ArtifactRef, Resolved, Resolver, Sink
from edgewhisk_runtime.artifacts.stage import STAGED_FIELD
from edgewhisk_runtime.exceptions import ArtifactError, BadRequest


def artifact_name(entry: dict[str, Any]) -> str:
    """An entry's name: explicit, else the last path segment of its ref (as the SDK names it)."""
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


def parse_staged(raw: Any) -> dict[str, Any] | None:
    """The :data:`STAGED_FIELD` value checked (None when absent); a malformed one is a
    ``BadRequest`` naming the field, not an action failure."""
    if raw is None:
        return None
    try:
        staged = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        staged = None
    consumes = staged.get("consumes", {}) if isinstance(staged, dict) else None
    root = staged.get("produce_root") if isinstance(staged, dict) else None
    if (not isinstance(consumes, dict) or not isinstance(root, (str, type(None)))
            or not all(isinstance(v, dict) and isinstance(v.get("path"), str)
                       and isinstance(v.get("key", ""), str)
                       and isinstance(v.get("reference", {}), (dict, type(None)))
                       for v in consumes.values())):
        raise BadRequest(f"Error unmarshaling request: '{STAGED_FIELD}' must be a JSON string "
                         f'{{"consumes": {{NAME: {{"path", "format", "key", "reference"}}}}, '
                         f'"produce_root": DIR}}')
    assert isinstance(staged, dict)
    return staged


def staged_input(staged: dict[str, Any], artifact: ArtifactRef) -> tuple[Resolved,
                                                                          dict[str, Any]]:
    """A consumed artifact's path as the invoker staged it, and what else it said of it (the
    registry ``key`` and a model's training ``reference``)."""
    entry = staged.get("consumes", {}).get(artifact.name)
    if entry is None:
        raise ArtifactError(f"artifact '{artifact.name}' ({artifact.kind} "
                            f"'{artifact.key}') was not staged by the invoker")
    path = Path(entry["path"])
    if not path.exists():
        raise ArtifactError(f"artifact '{artifact.name}': the staged path {path} is missing")
    extra = {k: entry[k] for k in ("key", "reference") if entry.get(k) is not None}
    return Resolved(path, entry.get("format")), extra


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
        staged = activation.staged
        for entry in consumes:
            artifact = bind_entry(entry, params)
            resolved, known = (staged_input(staged, artifact) if staged is not None
                               else (await self.resolver.resolve(artifact), {}))
            activation.consumes.append({"kind": artifact.kind, "name": artifact.name,
                                        "ref": artifact.ref, "path": str(resolved.path),
                                        "format": resolved.format, "key": artifact.key, **known})
        outputs = {artifact.name: artifact for artifact in
                   (bind_entry(entry, params) for entry in produces)}
        if not outputs:
            return await call_next(activation)
        self.outbox_root.mkdir(parents=True, exist_ok=True)
        outbox = Path(tempfile.mkdtemp(dir=self.outbox_root, prefix="outbox-"))
        activation.produces = list(outputs)
        activation.models = [name for name, a in outputs.items() if a.kind == "model"]
        activation.outbox = str(outbox)
        sink = self.sink
        if staged is not None and staged.get("produce_root"):
            sink = FilesystemSink(Path(staged["produce_root"]))
        try:
            result = await call_next(activation)
            for name, saved in result.produced.items():
                stored = await sink.store(outputs[name], Path(saved["path"]), saved["format"])
                reference = stored.reference()
                for extra in ("metadata", "metrics"):  # edgewhisk.Output's, for the registry
                    if saved.get(extra):
                        reference["artifact"][extra] = saved[extra]
                result.body[name] = reference
            return result
        finally:
            shutil.rmtree(outbox, ignore_errors=True)
