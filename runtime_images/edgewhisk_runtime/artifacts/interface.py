"""The two artifact extension points of the runtime: Resolver (inputs) and Sink (outputs).

Why async: real backends (a device store behind the tunnel, a peer, S3) do I/O; the proxy's
event loop must keep serving while they do. Expected failures (not found, cannot store) are
raised as :class:`edgewhisk_runtime.exceptions.ArtifactError` with a message naming the
artifact.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ArtifactRef:
    """One artifact of an annotation with its variables bound (``ref`` None: selector only)."""

    kind: str  # "data" | "model"
    name: str
    ref: str | None
    selector: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        """Where the artifact lives in a store: its bound ref, else its name."""
        return self.ref or self.name


@dataclass(frozen=True)
class Resolved:
    """A consumed artifact made available as a local path (format if the store knows it)."""

    path: Path
    format: str | None = None


@dataclass(frozen=True)
class Stored:
    """A produced artifact after the sink kept it: what replaces the value in the result."""

    kind: str
    name: str
    ref: str
    format: str
    size: int
    sha256: str
    location: str

    def reference(self) -> dict[str, Any]:
        return {"artifact": asdict(self)}


class Resolver(ABC):
    """Makes a consumed artifact available as a local file or folder."""

    NAME: str

    @abstractmethod
    async def resolve(self, artifact: ArtifactRef) -> Resolved:
        """Return the artifact's local path; raise ArtifactError when it cannot be found."""


class Sink(ABC):
    """Keeps a produced artifact that the action process saved at ``path``."""

    NAME: str

    @abstractmethod
    async def store(self, artifact: ArtifactRef, path: Path, fmt: str) -> Stored:
        """Store the file or folder at ``path``; raise ArtifactError when it cannot."""
