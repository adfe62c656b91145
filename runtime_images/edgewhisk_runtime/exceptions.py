"""Typed errors of the action runtime, mapped to HTTP status and ``{"error"}`` in one place.

Why one tree: every failure an invoker can observe has exactly one status code and one
message, decided here, and :mod:`edgewhisk_runtime.middleware.errors` is the only code that
turns an exception into a response. Messages in quotes are upstream's exact wording
(apache/openwhisk-runtime-go, ``initHandler.go`` / ``runHandler.go``).

Hierarchy (status in brackets)::

    RuntimeFailure                      base class, never raised itself
    ├── BadRequest            [400]     malformed JSON body, undecodable base64
    ├── MissingCode           [403]     "Missing main/no code to execute."
    ├── AlreadyInitialized    [403]     "Cannot initialize the action more than once."
    ├── InitFailure           [502]     the action cannot be started
    │   ├── UnsafeArchive     [502]     zip refused: absolute path, '..', escaping link, too big
    │   └── ActionStartError  [502]     import failed, no __main__.py, no main, child exited
    ├── NotInitialized        [500]     "no action defined yet" (/run before /init)
    └── ActivationFailure               a /run that produced no usable result
        ├── ActionExited      [400]     "command exited" (the action process died during this run)
        │   └── ActionGone    [500]     "command exited" (it had died before this run)
        ├── DeadlineExceeded  [504]     the proxy killed an action that overran its deadline
        ├── NotAJsonResult    [502]     "The action did not return a dictionary or array."
        ├── GateError         [502]     a gate's value could not be obtained (names the gate)
        └── ArtifactError     [502]     a consumed artifact could not be bound or resolved,
            │                           or a produced one could not be stored
            ├── ArtifactNotFound          no entry under that key in a node store
            ├── DigestMismatch            a blob's bytes differ from its announced sha256/size
            ├── StoreFull                 pinned entries leave no room in the byte budget
            └── UnsafeBlob                a folder blob (tar) with a link, device, '..', ...
"""

from __future__ import annotations


class RuntimeFailure(Exception):
    """Base of every expected runtime failure; ``status`` is the HTTP status it maps to."""

    status: int = 500
    default_message: str = "internal runtime error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class BadRequest(RuntimeFailure):
    status = 400
    default_message = "Error unmarshaling request"


class MissingCode(RuntimeFailure):
    status = 403
    default_message = "Missing main/no code to execute."


class AlreadyInitialized(RuntimeFailure):
    status = 403
    default_message = "Cannot initialize the action more than once."


class InitFailure(RuntimeFailure):
    status = 502
    default_message = "Cannot start action. Check logs for details."


class UnsafeArchive(InitFailure):
    default_message = "invalid action: unsafe zip archive"


class ActionStartError(InitFailure):
    pass


class NotInitialized(RuntimeFailure):
    status = 500
    default_message = "no action defined yet"


class ActivationFailure(RuntimeFailure):
    status = 502


class ActionExited(ActivationFailure):
    status = 400
    default_message = "command exited"


class ActionGone(ActionExited):
    status = 500


class DeadlineExceeded(ActivationFailure):
    status = 504
    default_message = "The action exceeded its deadline and was stopped."


class NotAJsonResult(ActivationFailure):
    default_message = "The action did not return a dictionary or array."


class GateError(ActivationFailure):
    default_message = "a gate could not be evaluated"


class ArtifactError(ActivationFailure):
    default_message = "artifact error"


class ArtifactNotFound(ArtifactError):
    default_message = "artifact not found"


class DigestMismatch(ArtifactError):
    default_message = "artifact bytes do not match their digest"


class StoreFull(ArtifactError):
    default_message = "artifact store full"


class UnsafeBlob(ArtifactError):
    default_message = "unsafe artifact blob"
