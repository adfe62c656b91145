"""Filesystem Resolver and Sink: artifacts are files or folders under one root directory.

Layout: an artifact with bound ref ``u1/glucose`` lives at ``ROOT/u1/glucose`` (a model
selected by name only at ``ROOT/<name>``), with a sidecar ``ROOT/u1/glucose.edgewhisk.json``
holding its format, size and sha256 (of the canonical blob, :mod:`.canonical`: a folder's
deterministic tar) so that a later consumer gets the format the producer
saved (``save_artifact`` writes ``.npz`` files or model folders whose kind a bare path does
not tell). Keys are checked so no ref can reach outside the root.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from edgewhisk_runtime.artifacts.canonical import digest
from edgewhisk_runtime.artifacts.interface import ArtifactRef, Resolved, Resolver, Sink, Stored
from edgewhisk_runtime.exceptions import ArtifactError

__all__ = ["FilesystemResolver", "FilesystemSink", "digest", "from_directory"]

SIDECAR_SUFFIX = ".edgewhisk.json"


def _location(root: Path, artifact: ArtifactRef) -> Path:
    key = PurePosixPath(artifact.key)
    if key.is_absolute() or ".." in key.parts or not key.parts:
        raise ArtifactError(f"artifact '{artifact.name}': ref '{artifact.key}' is not a "
                            "relative path inside the artifact store")
    return root.joinpath(*key.parts)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


class FilesystemResolver(Resolver):
    NAME = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root

    async def resolve(self, artifact: ArtifactRef) -> Resolved:
        path = _location(self.root, artifact)
        if not path.exists():
            raise ArtifactError(f"artifact '{artifact.name}' ({artifact.kind} "
                                f"'{artifact.key}') not found in {self.root}")
        fmt = None
        sidecar = _sidecar(path)
        if sidecar.exists():
            fmt = json.loads(sidecar.read_text()).get("format")
        return Resolved(path, fmt)


class FilesystemSink(Sink):
    NAME = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root

    async def store(self, artifact: ArtifactRef, path: Path, fmt: str) -> Stored:
        dest = _location(self.root, artifact)
        try:
            return await asyncio.to_thread(self._store, artifact, path, fmt, dest)
        except OSError as exc:
            raise ArtifactError(f"cannot store artifact '{artifact.name}' at {dest}: {exc}") \
                from exc

    def _store(self, artifact: ArtifactRef, path: Path, fmt: str, dest: Path) -> Stored:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".incoming-")) / "a"
        if path.is_dir():
            shutil.copytree(path, staging)
        else:
            shutil.copy2(path, staging)
        size, sha = digest(staging)
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        os.replace(staging, dest)
        staging.parent.rmdir()
        stored = Stored(artifact.kind, artifact.name, artifact.key, fmt, size, sha, dest.as_uri())
        _sidecar(dest).write_text(json.dumps({"format": fmt, "size": size, "sha256": sha}))
        return stored


def from_directory(root: Path) -> tuple[FilesystemResolver, FilesystemSink]:
    """The resolver and sink of ``--artifacts DIR`` (created when the first artifact is stored)."""
    root = root.resolve()
    return FilesystemResolver(root), FilesystemSink(root)
