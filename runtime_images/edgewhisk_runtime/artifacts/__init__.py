"""Where consumed artifacts come from (Resolver) and produced ones go (Sink).

One small abstract base per extension point (:mod:`.interface`), one module per backend
(:mod:`.filesystem` here; the artifact issue adds the device store, peers and S3), and
:func:`from_directory` as the factory the proxy uses for ``--artifacts DIR``.
"""

from __future__ import annotations

from edgewhisk_runtime.artifacts.filesystem import (
    FilesystemResolver,
    FilesystemSink,
    from_directory,
)
from edgewhisk_runtime.artifacts.interface import ArtifactRef, Resolved, Resolver, Sink, Stored

__all__ = ["ArtifactRef", "FilesystemResolver", "FilesystemSink", "Resolved", "Resolver", "Sink",
           "Stored", "from_directory"]
