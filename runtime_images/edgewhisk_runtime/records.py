"""OpenWhisk's activation record and response rules: the one module that builds them.

Why in the runtime package: the controller records every activation with these rules, and an
edge device that ran an action while cut off from the controller (``edgewhisk_invoker``'s
local invoke API) must answer its caller with the same record the controller will store when
the device syncs; both may import the runtime, neither the other. The shapes are upstream's
exactly (``WhiskActivation.toExtendedJson``, ``ActivationResponse``,
``ContainerProxy.constructWhiskActivation``, ``Messages`` in apache/openwhisk): ``wsk``, the
JavaScript client and Composer parse them. ``edgewhisk_controller.schema.activation``
re-exports every name here and adds what only the controller stores (the ``accepted``
documents, store documents).

Status codes: 0 success, 1 application error (the action returned ``{"error"}``), 2 action
developer error (bad init or run response, timeout, oversized result), 3 whisk internal error
(the platform failed: no invoker, a broken container backend).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, Protocol, TypedDict

SUCCESS = 0
APPLICATION_ERROR = 1
DEVELOPER_ERROR = 2
WHISK_ERROR = 3
STATUS_NAMES = {
    SUCCESS: "success",
    APPLICATION_ERROR: "application error",
    DEVELOPER_ERROR: "action developer error",
    WHISK_ERROR: "whisk internal error",
}

MAX_RESULT_BYTES = 1024 * 1024
"""Largest result an action may produce (OpenWhisk's 1 MiB); larger ones become an error."""

ERROR_FIELD = "error"
BLOCKING_STATUS = {SUCCESS: 200, APPLICATION_ERROR: 502, DEVELOPER_ERROR: 502, WHISK_ERROR: 500}
"""HTTP status of a blocking invoke's answer by ``response.statusCode`` (upstream's)."""
ASKING_DEVICE_HEADER = "X-Edgewhisk-Asking-Device"
"""Names the device (its invoker id) whose agent forwarded an invoke of its local API to the
controller; placement prefers that device where the action's policy lets it run there."""
OFFLINE_ANNOTATION = "offline"
"""The annotation (``true``) of a record an edge device made while cut off from the controller."""

# Upstream's messages (org.apache.openwhisk.http.Messages), word for word.
ABNORMAL_INIT = "The action did not initialize and exited unexpectedly."
ABNORMAL_RUN = "The action did not produce a valid response and exited unexpectedly."
RESOURCE_PROVISION_ERROR = "Failed to provision resources to run the action."
INTERNAL_ERROR = "An internal error occurred."
ABORTED = "The activation was aborted because the controller shut down."  # ours
RESTARTED = "The controller restarted while the activation was running."  # ours


def invalid_init_response(text: str) -> str:
    return "The action failed during initialization" + (f": {text}" if text else ".")


def invalid_run_response(text: str) -> str:
    return "The action did not produce a valid JSON response" + (f": {text}" if text else ".")


def truncated_response(trunk: str, length: int, max_length: int) -> str:
    return (
        f"The action produced a response that exceeded the allowed length: {length} > "
        f"{max_length} bytes. The truncated response was: {trunk}"
    )


def timed_out(timeout_ms: int, init: bool) -> str:
    return f"The action exceeded its time limits of {timeout_ms} milliseconds" + (
        " during initialization." if init else "."
    )


class ResponseJson(TypedDict):
    status: str
    statusCode: int
    success: bool
    result: Any


class Annotation(TypedDict):
    key: str
    value: Any


class ActivationRecord(TypedDict):
    """An activation as the REST API serves it (and as the store keeps it, plus ``_id``)."""

    namespace: str
    name: str
    version: str
    subject: str
    activationId: str
    start: int
    end: NotRequired[int]  # absent on trigger activations, as upstream
    duration: NotRequired[int]
    cause: NotRequired[str]
    response: ResponseJson
    logs: list[str]
    annotations: list[Annotation]
    publish: bool


@dataclass(frozen=True)
class Response:
    """An activation's outcome: a status code (0-3) and the result document."""

    status_code: int
    result: Any

    @property
    def success(self) -> bool:
        return self.status_code == SUCCESS

    def to_json(self) -> ResponseJson:
        return {
            "status": STATUS_NAMES[self.status_code],
            "statusCode": self.status_code,
            "success": self.success,
            "result": self.result,
        }


def success(result: Any) -> Response:
    return Response(SUCCESS, result)


def application_error(error: Any) -> Response:
    return Response(APPLICATION_ERROR, {ERROR_FIELD: error})


def developer_error(error: Any) -> Response:
    return Response(DEVELOPER_ERROR, {ERROR_FIELD: error})


def whisk_error(error: Any) -> Response:
    return Response(WHISK_ERROR, {ERROR_FIELD: error})


class Outcome(Protocol):
    """What the container pool reports for one activation (``containers.RunOutcome``)."""

    status: int
    response: Any
    init_failed: bool
    timed_out: bool


TIMEOUT_STATUS = 504
"""The runtime's status for an action it stopped at its deadline (DeadlineExceeded)."""


_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""Made once: ``json.dumps`` with any option builds a new encoder on every call."""


def response_of(outcome: Outcome, timeout_ms: int) -> tuple[Response, bool]:
    """Interpret a /init or /run answer as upstream's invoker does; also say if it timed out.

    200 with an object or array -> success, unless the object has ``error`` -> application
    error; any other status -> developer error carrying the body's ``error`` if it has one;
    a failed /init -> developer error; a result over 1 MiB -> developer error with upstream's
    truncation message. A ``str`` body is the raw text of an answer that was not JSON.
    """
    body = outcome.response
    if outcome.timed_out or outcome.status == TIMEOUT_STATUS:
        return developer_error(timed_out(timeout_ms, outcome.init_failed)), True
    text = body if isinstance(body, str) else _compact(body)
    size = len(text.encode())
    if size > MAX_RESULT_BYTES:
        trunk = text.encode()[:MAX_RESULT_BYTES].decode("utf-8", "ignore")
        return developer_error(truncated_response(trunk, size, MAX_RESULT_BYTES)), False
    error = body.get(ERROR_FIELD) if isinstance(body, dict) else None
    has_error = isinstance(body, dict) and ERROR_FIELD in body
    if outcome.init_failed:
        if has_error:
            return developer_error(error), False
        return developer_error(invalid_init_response(text if body is not None else "")), False
    if outcome.status != 200:
        if has_error:
            return developer_error(error), False
        return developer_error(invalid_run_response(text if body is not None else "")), False
    if isinstance(body, dict):
        return (application_error(error) if has_error else success(body)), False
    if isinstance(body, list):
        return success(body), False
    return developer_error(invalid_run_response(text if body is not None else "")), False


def run_annotations(
    *,
    path: str,
    kind: str,
    limits: Mapping[str, int],
    timeout: bool,
    wait_ms: int,
    init_ms: int | None,
    invoker: str | None,
    caused_by_composition: bool = False,
    binding: str | None = None,
) -> list[Annotation]:
    """The annotations of an action's activation, in upstream's order plus ``invoker``.

    ``initTime`` only on a cold start; ``causedBy: "sequence"`` when the activation is a
    component (or conductor run) of a composition; ``binding`` (``ns/binding``) when the
    action was reached through a package binding; ``invoker`` names where it ran.
    """
    out: list[Annotation] = [
        {"key": "limits", "value": dict(limits)},
        {"key": "path", "value": path},
        {"key": "kind", "value": kind},
        {"key": "timeout", "value": timeout},
    ]
    if caused_by_composition:
        out.append({"key": "causedBy", "value": "sequence"})
    if init_ms is not None:
        out.append({"key": "initTime", "value": init_ms})
    out.append({"key": "waitTime", "value": max(0, wait_ms)})
    if binding is not None:
        out.append({"key": "binding", "value": binding})
    if invoker is not None:
        out.append({"key": "invoker", "value": invoker})
    return out


def composition_annotations(
    *, path: str, limits: Mapping[str, int], topmost: bool, wait_ms: int,
    conductor: bool = True, binding: str | None = None,
) -> list[Annotation]:
    """The annotations of a composition's (``conductor``) or a sequence's own activation, in
    upstream's order (``PrimitiveActions.completeActivation``,
    ``SequenceActions.makeSequenceActivation``): ``waitTime`` from the request to its start,
    nested ones included."""
    out: list[Annotation] = [
        {"key": "topmost", "value": topmost},
        {"key": "path", "value": path},
        {"key": "kind", "value": "sequence"},
    ]
    if conductor:
        out.append({"key": "conductor", "value": True})
    if not topmost:
        out.append({"key": "causedBy", "value": "sequence"})
    out.append({"key": "waitTime", "value": max(0, wait_ms)})
    if binding is not None:
        out.append({"key": "binding", "value": binding})
    out.append({"key": "limits", "value": dict(limits)})
    return out


def record(
    *,
    namespace: str,
    name: str,
    version: str,
    subject: str,
    activation_id: str,
    start: int,
    end: int | None,
    response: Response,
    logs: Sequence[str] = (),
    annotations: Sequence[Annotation] = (),
    cause: str | None = None,
    duration: int | None = None,
) -> ActivationRecord:
    """An activation record; ``duration`` defaults to ``end - start``; no ``end`` -> neither."""
    rec: dict[str, Any] = {
        "namespace": namespace,
        "name": name,
        "version": version,
        "subject": subject,
        "activationId": activation_id,
        "start": start,
    }
    if end is not None:
        rec["end"] = end
        rec["duration"] = end - start if duration is None else duration
    if cause is not None:
        rec["cause"] = cause
    rec.update(
        response=response.to_json(),
        logs=list(logs),
        annotations=list(annotations),
        publish=False,
    )
    return rec  # type: ignore[return-value]


def offline_record(*, namespace: str, path: str, version: str, activation_id: str, start: int,
                   end: int, outcome: Outcome, init_ms: int | None, logs: Sequence[str],
                   kind: str, limits: Mapping[str, int], invoker: str) -> ActivationRecord:
    """The record of a run an edge device made while cut off (``path``: ``ns/[pkg/]name``).

    One rule for both ends: the device answers its local caller with it, and the controller
    stores it when the device syncs (from the outcome the device sends, with the action's
    limits as the controller knows them). ``waitTime`` is 0 (nothing queued it), ``invoker``
    names the device and ``offline: true`` says how it ran; the subject is the namespace (a
    device acts for its namespace, not for a user)."""
    response, timed_out = response_of(outcome, limits.get("timeout", 60_000))
    annotations = run_annotations(path=path, kind=kind, limits=limits, timeout=timed_out,
                                  wait_ms=0, init_ms=init_ms, invoker=invoker)
    annotations.append({"key": OFFLINE_ANNOTATION, "value": True})
    return record(namespace=namespace, name=path.rsplit("/", 1)[-1], version=version,
                  subject=namespace, activation_id=activation_id, start=start, end=end,
                  response=response, logs=logs, annotations=annotations)
