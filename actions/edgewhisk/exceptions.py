"""Errors of the ``edgewhisk`` SDK.

Hierarchy::

    EdgewhiskError                 base of everything the SDK raises on purpose
    ├── AnnotationError            an annotation (decorators, JSON document, variable binding) is
    │                              invalid; ``.path`` names the field, ``.reason`` says why
    └── ArtifactError              an artifact cannot be located, loaded or saved

``AnnotationError`` is also a ``ValueError`` so callers that only know the standard library
still catch it; the controller maps it to HTTP 400 with ``str(error)`` as the message.
"""

from __future__ import annotations


class EdgewhiskError(Exception):
    """Base class of the SDK's errors."""


class AnnotationError(EdgewhiskError, ValueError):
    """An annotation is invalid at ``path`` (e.g. ``consumes[1].locality``) for ``reason``."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Keep (path, reason) when pickled across a process boundary.
        return (type(self), (self.path, self.reason))


class ArtifactError(EdgewhiskError):
    """An artifact cannot be located, loaded or saved."""
