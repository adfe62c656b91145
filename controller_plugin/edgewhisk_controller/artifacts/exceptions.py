"""Errors of the artifact registry, as the controller's HTTP errors (mapped once, by
``middleware/errors.py``).

Hierarchy::

    ControllerError
    ├── BadRequest
    │   └── InvalidArtifact         malformed name, version, kind, locality, metadata, selector
    ├── Forbidden
    │   └── LocalityRefused         bytes would go where the locality forbids (a download, a
    │                               placement, a transfer, a produce wider than its inputs)
    ├── NotFound
    │   ├── ArtifactNotFound        no such artifact or version in the namespace
    │   └── NoMatchingVersion       a selector matched nothing (``details``: the candidates)
    ├── PayloadTooLarge
    │   └── ArtifactTooLarge        an upload over ``--artifact-max-size``
    └── StagingFailed               an invoker could not bring a consumed artifact to its run,
                                    or keep a produced one (recorded in the activation)

Blob store errors (digest mismatch, unreachable S3) are translated by the middleware too.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import BadRequest, ControllerError, Forbidden, NotFound, PayloadTooLarge


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


class StagingFailed(ControllerError):
    """An invoker's artifact plumbing failed around a run (store full, digest mismatch, a
    blob missing from the blob store, a produced version that cannot be registered); the
    activation records the message as a whisk error."""
