"""Errors of the artifact registry, as the controller's HTTP errors (mapped once, by
``middleware/errors.py``).

Hierarchy::

    ControllerError
    ├── BadRequest
    │   └── InvalidArtifact         malformed name, version, kind, locality, metadata, selector
    ├── Forbidden
    │   └── LocalityRefused         the request would move bytes where the locality forbids
    ├── NotFound
    │   ├── ArtifactNotFound        no such artifact or version in the namespace
    │   └── NoMatchingVersion       a selector matched nothing (``details``: the candidates)
    └── PayloadTooLarge
        └── ArtifactTooLarge        an upload over ``--artifact-max-size``

Blob store errors (digest mismatch, unreachable S3) are translated by the middleware too.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import BadRequest, Forbidden, NotFound, PayloadTooLarge


class InvalidArtifact(BadRequest):
    pass


class LocalityRefused(Forbidden):
    """Names the rule: what the locality allows, and what was attempted."""


class ArtifactNotFound(NotFound):
    pass


class NoMatchingVersion(NotFound):
    def __init__(self, message: str, candidates: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.details = {"candidates": candidates}


class ArtifactTooLarge(PayloadTooLarge):
    pass
