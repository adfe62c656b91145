"""Where consumed artifacts come from (Resolver) and produced ones go (Sink), and the data plane.

One small abstract base per extension point (:mod:`.interface`), one module per backend
(:mod:`.filesystem` here), and :func:`from_directory` as the factory the proxy uses for
``--artifacts DIR``. The data plane shared by the edge agent and the controller's own invoker:
:mod:`.canonical` (the one byte stream of a file or folder artifact that is hashed and sent),
:mod:`.store` (an invoker's node store with a byte budget) and :mod:`.stage` (consumes into
the store before a run, produces into it after; used as ``stage.stage``/``stage.collect``,
so the submodule is not shadowed by re-exporting its functions here) with :mod:`.values` (what
a run consumes, must produce and produced: the runtime's side of the tunnel's twins).
"""

from __future__ import annotations

from edgewhisk_runtime.artifacts.canonical import (
    FOLDER_FORMATS,
    blob_chunks,
    digest,
    is_folder_format,
    materialize,
    unpack,
    write_blob,
)
from edgewhisk_runtime.artifacts.filesystem import (
    FilesystemResolver,
    FilesystemSink,
    from_directory,
)
from edgewhisk_runtime.artifacts.interface import ArtifactRef, Resolved, Resolver, Sink, Stored
from edgewhisk_runtime.artifacts.store import Entry, NodeStore
from edgewhisk_runtime.artifacts.values import (
    ConsumeSpec,
    GateVerdict,
    ProducedArtifact,
    ProduceSpec,
)

__all__ = ["FOLDER_FORMATS", "ArtifactRef", "ConsumeSpec", "Entry", "FilesystemResolver",
           "GateVerdict",
           "FilesystemSink", "NodeStore", "ProduceSpec", "ProducedArtifact", "Resolved",
           "Resolver", "Sink", "Stored", "blob_chunks", "digest", "from_directory",
           "is_folder_format", "materialize", "unpack", "write_blob"]
