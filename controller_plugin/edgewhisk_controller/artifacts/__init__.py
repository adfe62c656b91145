"""The artifact registry: versions' metadata in the store, cloud copies in a blob store,
model selectors resolved to one version, and the locality rules of where bytes may go.

Modules: ``registry`` (documents, monotonic versions, content), ``selectors`` (the selector
semantics and the in-memory index), ``locality`` (the rules, with messages naming them),
``exceptions`` (HTTP-mapped errors). The REST resource is ``api/artifacts.py``.
"""

from .exceptions import (
    ArtifactNotFound,
    ArtifactTooLarge,
    InvalidArtifact,
    LocalityRefused,
    NoMatchingVersion,
)
from .registry import ARTIFACTS, NewArtifact, Registry

__all__ = [
    "ARTIFACTS",
    "ArtifactNotFound",
    "ArtifactTooLarge",
    "InvalidArtifact",
    "LocalityRefused",
    "NewArtifact",
    "NoMatchingVersion",
    "Registry",
]
