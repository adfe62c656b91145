"""OpenWhisk activation records as the controller stores them (the API only reads them).

Why one module: ``wsk``, the JavaScript client and Composer parse these records, so their shape
must be upstream's exactly, and every path that ends an activation (a run, an init failure, no
invoker, a composition, a trigger) must agree on it. The record and response rules themselves
live in ``edgewhisk_runtime.records`` (re-exported here), because an edge device answering an
offline invoke builds the same record; this module adds the ``accepted`` documents and the
store's. Records are stored as they are served, plus ``_id`` = activation id, in the
``activations`` collection; ``namespace``, ``name`` and ``start`` are top-level fields the API
filters and sorts on.

Status codes: 0 success, 1 application error (the action returned ``{"error"}``), 2 action
developer error (bad init or run response, timeout, oversized result), 3 whisk internal error
(the platform failed: no invoker, a broken container backend).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

# The record and response rules, shared with devices (``edgewhisk_runtime.records``).
from edgewhisk_runtime.records import (
    ABNORMAL_INIT,  # noqa: F401
    ABNORMAL_RUN,  # noqa: F401
    ABORTED,  # noqa: F401
    APPLICATION_ERROR,  # noqa: F401
    ASKING_DEVICE_HEADER,  # noqa: F401
    BLOCKING_STATUS,  # noqa: F401
    DEVELOPER_ERROR,  # noqa: F401
    ERROR_FIELD,  # noqa: F401
    INTERNAL_ERROR,  # noqa: F401
    MAX_RESULT_BYTES,  # noqa: F401
    OFFLINE_ANNOTATION,  # noqa: F401
    RESOURCE_PROVISION_ERROR,  # noqa: F401
    RESTARTED,  # noqa: F401
    STATUS_NAMES,  # noqa: F401
    SUCCESS,  # noqa: F401
    TIMEOUT_STATUS,  # noqa: F401
    WHISK_ERROR,  # noqa: F401
    ActivationRecord,  # noqa: F401
    Annotation,  # noqa: F401
    Outcome,  # noqa: F401
    Response,  # noqa: F401
    ResponseJson,  # noqa: F401
    application_error,  # noqa: F401
    composition_annotations,  # noqa: F401
    developer_error,  # noqa: F401
    invalid_init_response,  # noqa: F401
    invalid_run_response,  # noqa: F401
    offline_record,  # noqa: F401
    record,  # noqa: F401
    response_of,  # noqa: F401
    run_annotations,  # noqa: F401
    success,  # noqa: F401
    timed_out,  # noqa: F401
    truncated_response,  # noqa: F401
    whisk_error,  # noqa: F401
)

PLACEMENT = "placement"
"""The annotation of a placed activation's record that says why it ran there (the engine's
``why``: the chosen invoker, the decisive soft terms, the runner-up, the exclusions)."""

COLLECTION = "activations"
ACCEPTED = "accepted"
"""Activations acknowledged and not finished yet (``accepted``): what start-up recovers."""



def new_activation_id() -> str:
    """A fresh activation id: 32 lowercase hex characters, as upstream's ``ActivationId``."""
    return uuid.uuid4().hex


class AcceptedDoc(TypedDict):
    """An activation acknowledged and not finished: stored under ``_id`` = activation id in
    ``ACCEPTED`` before its 202 (or its 200), deleted in the commit that stores its record.

    Enough to finish it after a crash: re-run it (``payload`` is the request's parameters, at
    most 1 MiB like every payload), or record it as a whisk error in OpenWhisk's shape.
    ``invoker`` names the edge invoker it was handed to (written before the hand-over), whose
    agent may still run it; no ``invoker``: it ran, if at all, inside the controller.
    ``artifacts``: the outputs allocated for such a run and their lineage, to register what
    the agent kept (``dispatch.artifacts.journaled``).
    ``pending``: it waits to be placed (``policy.wait``): since and until when (ms), what it
    waits for (``dispatch/pending.py``); it never ran, so recovery lets it wait again.
    ``api_key``: whether the action was given the caller's key (never stored).
    ``owner``: the controller that accepted it, among several on one store (``--cluster-id``).
    ``path``: the fully qualified name the action was reached by (``/ns/pkg/name``, or through
    a binding ``/ns/binding/name``), resolved again on recovery; documents written before
    packages existed have none and mean ``/namespace/name``."""

    activationId: str
    namespace: str
    name: str
    path: NotRequired[str]
    version: str
    subject: str
    start: int
    payload: dict[str, Any]
    blocking: bool
    api_key: bool
    composition: bool
    cause: NotRequired[str]
    invoker: NotRequired[str]
    artifacts: NotRequired[dict[str, Any]]
    pending: NotRequired[dict[str, Any]]
    owner: NotRequired[str]
    incarnation: NotRequired[int]  # the owner's (``cluster/takeover.py``)


def accepted(*, namespace: str, name: str, path: str, version: str, subject: str,
             activation_id: str, start: int, payload: dict[str, Any], blocking: bool,
             api_key: bool, composition: bool, cause: str | None) -> AcceptedDoc:
    doc: AcceptedDoc = {
        "activationId": activation_id, "namespace": namespace, "name": name, "path": path,
        "version": version, "subject": subject, "start": start, "payload": payload,
        "blocking": blocking, "api_key": api_key, "composition": composition,
    }
    if cause is not None:
        doc["cause"] = cause
    return doc


def to_doc(rec: ActivationRecord) -> dict[str, Any]:
    """The store document of a record: the record plus ``_id`` = activation id."""
    return {"_id": rec["activationId"], **rec}


def from_doc(doc: Mapping[str, Any]) -> ActivationRecord:
    """The record in a store document (drops ``_id`` and ``_rev``)."""
    return {k: v for k, v in doc.items() if k not in ("_id", "_rev")}  # type: ignore[return-value]
