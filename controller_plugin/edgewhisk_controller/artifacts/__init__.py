"""The artifact registry: versions' metadata in the store, cloud copies in a blob store,
model selectors resolved to one version, and the locality rules of where bytes may go.

Modules: ``registry`` (documents, monotonic versions, content), ``keys`` (how a version is
named in the store, the blob store, on the wire and to placement), ``selectors`` (the selector
semantics and the in-memory index), ``locality`` (the rules, with messages naming them, in one
place), ``plan`` (an activation's consumes resolved and produces allocated before its run),
``produce`` (what an invoker kept, registered after the run, and referenced in the result),
``preload`` (a version pushed to the invokers a device selector picks), ``exceptions``
(HTTP-mapped errors). The REST resource is ``api/artifacts.py``.
"""

from .exceptions import (
    ArtifactNotFound,
    ArtifactTooLarge,
    InvalidArtifact,
    LocalityRefused,
    NoMatchingVersion,
    StagingFailed,
)
from .registry import ARTIFACTS, ArtifactRegistry, NewArtifact

__all__ = [
    "ARTIFACTS",
    "ArtifactNotFound",
    "ArtifactTooLarge",
    "InvalidArtifact",
    "LocalityRefused",
    "NewArtifact",
    "NoMatchingVersion",
    "ArtifactRegistry",
    "StagingFailed",
]
