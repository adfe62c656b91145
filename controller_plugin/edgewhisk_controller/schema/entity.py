"""What every OpenWhisk entity shares: names, key/value lists, limits, versions, paging.

Actions, triggers and rules are validated here field by field, so that each bad input gets a
400 naming the field (``limits.memory``, ``parameters[2].key``) and nothing is stored. The
ranges are OpenWhisk's defaults (docs/openwhisk-contract.md, section 3); the name pattern is
upstream's ``EntityName.REGEX`` (ASCII ``\\w``, as on the JVM), at most 256 characters.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import edgewhisk_json

from ..exceptions import BadRequest, PayloadTooLarge

NAME = re.compile(r"[\w]|[\w][\w@ .-]*[\w@.-]+", re.ASCII)
NAME_MAX = 256
DEFAULT_NAMESPACE = "_"
"""Upstream's name for "the namespace of the caller's key"."""
PAYLOAD_MAX = 1024 * 1024
"""Invocation and trigger payloads, and an entity's parameters (OpenWhisk: 1 MiB)."""
ANNOTATIONS_MAX = 1024 * 1024
"""An entity's annotations (OpenWhisk applies its parameters' ``sizeLimit``, 1 MiB, to them)."""
FIELDS_MAX = 64 * 1024
"""Everything else of an entity document (names, version, limits, exec's kind, main, image)."""
DOCUMENT_MAX = PAYLOAD_MAX + ANNOTATIONS_MAX + FIELDS_MAX
"""The largest PUT body of a trigger or a rule: parameters, annotations and the rest at their
limits (an action adds its code, ``action.DOCUMENT_MAX``)."""


@dataclass(frozen=True)
class LimitRange:
    minimum: int
    maximum: int
    default: int
    unit: str


LIMITS: dict[str, LimitRange] = {
    "timeout": LimitRange(100, 300_000, 60_000, "ms"),
    "memory": LimitRange(128, 512, 256, "MB"),
    "logs": LimitRange(0, 10, 10, "MB"),
    "concurrency": LimitRange(1, 500, 1, ""),
}

LIST_LIMIT_DEFAULT = 30
LIST_LIMIT_MAX = 200


def now_ms() -> int:
    return int(time.time() * 1000)


def check_name(value: Any, field: str = "name") -> str:
    """An entity or namespace name as upstream accepts it."""
    if not isinstance(value, str) or len(value) > NAME_MAX or not NAME.fullmatch(value):
        raise BadRequest(
            f"{field}: {value!r} is not a valid name (letters, digits, '_', '@', '.', '-' and "
            f"inner spaces, at most {NAME_MAX} characters)"
        )
    return value


def check_fields(body: Mapping[str, Any], allowed: Iterable[str], what: str = "") -> None:
    """Refuse unknown fields: a typo would otherwise be silently dropped."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        where = f"{what}." if what else ""
        raise BadRequest(
            f"{where}{unknown[0]}: unknown field; expected one of {', '.join(sorted(allowed))}"
        )


def object_body(value: Any, what: str = "request body") -> dict[str, Any]:
    """The JSON object a PUT or POST carries (an empty body counts as ``{}``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"The {what} must be a JSON object, got {type(value).__name__}.")
    return value


def key_values(value: Any, field: str, *, init: bool = False) -> list[dict[str, Any]]:
    """A ``[{"key", "value"}]`` list (``parameters``/``annotations``); a later key wins."""
    if not isinstance(value, list):
        raise BadRequest(f"{field}: must be a list of {{\"key\", \"value\"}} objects")
    out: dict[str, dict[str, Any]] = {}
    allowed = ("key", "value", "init") if init else ("key", "value")
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where}: must be an object with 'key' and 'value'")
        check_fields(item, allowed, where)
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise BadRequest(f"{where}.key: must be a non-empty string")
        if "value" not in item:
            raise BadRequest(f"{where}.value: missing")
        entry = {"key": key, "value": item["value"]}
        if init and "init" in item:
            if not isinstance(item["init"], bool):
                raise BadRequest(f"{where}.init: must be true or false")
            if item["init"]:
                entry["init"] = True
        out.pop(key, None)
        out[key] = entry
    return list(out.values())


def given_or_kept(body: Mapping[str, Any], field: str,
                  previous: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The body's key/value list ``field``, else the previous document's: an update keeps
    what it does not mention (``previous`` is ``{}`` for a new entity)."""
    if field in body:
        values = key_values(body[field], field)
        if field == "annotations":
            check_annotations_size(values)
        return values
    return list(previous.get(field, []))


def check_parameters_size(parameters: list[dict[str, Any]], field: str = "parameters") -> None:
    check_size(parameters, field, PAYLOAD_MAX)


def check_annotations_size(annotations: list[dict[str, Any]]) -> None:
    check_size(annotations, "annotations", ANNOTATIONS_MAX)


def check_size(value: Any, field: str, limit: int) -> None:
    """413 with upstream's message when ``value``'s compact JSON is over ``limit`` bytes."""
    size = json_size(value)
    if size > limit:
        raise PayloadTooLarge(too_large(field, size, limit))


def check_payload(value: Any, what: str = "Request") -> None:
    """What an activation starts with (the payload with the entity's parameters merged in):
    standard JSON (400, ``edgewhisk_json``'s rules: a value stored before them, or built
    inside the controller, is checked too) of at most ``PAYLOAD_MAX`` bytes (413), as
    upstream's limit on "the POST content size plus any curried parameters"."""
    try:
        edgewhisk_json.check(value, what=what)
    except edgewhisk_json.JSONError as exc:
        raise BadRequest(f"The request content was malformed: {exc.reason}.") from None
    check_size(value, what, PAYLOAD_MAX)


BULK_FIELDS = ("parameters", "annotations", "rules")
"""The parts of an entity document limited on their own (an action's code too)."""


def check_document_size(doc: Mapping[str, Any]) -> None:
    """413 when the rest of an entity document (its names, version, limits, ``exec`` but its
    code...) is over ``FIELDS_MAX``: no field escapes a limit (a 10 MB ``exec.main``)."""
    rest = {k: v for k, v in doc.items() if k not in BULK_FIELDS and not k.startswith("_")}
    if isinstance(rest.get("exec"), Mapping):
        rest["exec"] = {k: v for k, v in rest["exec"].items() if k != "code"}
    check_size(rest, "Request", FIELDS_MAX)


def too_large(field: str, size: int, limit: int) -> str:
    """Upstream's ``Messages.entityTooBig``: ``<field> larger than allowed: N > M bytes.``"""
    return f"{field} larger than allowed: {size} > {limit} bytes."


def json_size(value: Any) -> int:
    return len(_COMPACT(value).encode())


_COMPACT = json.JSONEncoder(separators=(",", ":")).encode
"""Made once: ``json.dumps`` with any option builds a new encoder on every call."""


def limits(value: Any, previous: Mapping[str, int] | None = None) -> dict[str, int]:
    """Action limits: each given field checked against its range, the rest kept or defaulted."""
    if not isinstance(value, dict):
        raise BadRequest("limits: must be an object")
    check_fields(value, LIMITS, "limits")
    out: dict[str, int] = {}
    for name, spec in LIMITS.items():
        if name not in value:
            out[name] = int((previous or {}).get(name, spec.default))
            continue
        given = value[name]
        if type(given) is not int or not spec.minimum <= given <= spec.maximum:
            raise BadRequest(
                f"limits.{name}: {given!r} is out of range; it must be an integer from "
                f"{spec.minimum} to {spec.maximum}{' ' + spec.unit if spec.unit else ''}"
            )
        out[name] = given
    return out


def default_limits() -> dict[str, int]:
    return {name: spec.default for name, spec in LIMITS.items()}


def publish(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest("publish: must be true or false")
    return value


def next_version(previous: str | None) -> str:
    """``0.0.1`` for a new entity; the patch number goes up on every update (as upstream)."""
    if previous is None:
        return "0.0.1"
    try:
        major, minor, patch = (int(part) for part in previous.split("."))
    except ValueError:
        return "0.0.1"
    return f"{major}.{minor}.{patch + 1}"


def identity(ns: str, name: str, previous: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every entity document opens with: id, namespace, name, next version."""
    return {
        "_id": f"{ns}/{name}",
        "namespace": ns,
        "name": name,
        "version": next_version(previous.get("version")),
    }


def annotation(annotations: Iterable[Any], key: str, default: Any = None) -> Any:
    """The value of annotation ``key`` in a ``[{"key", "value"}]`` list (``default`` when
    absent); items that are not objects are skipped, as a stored document may hold them."""
    for item in annotations:  # type() first: an ABC check costs more than the lookup (hot)
        if (type(item) is dict or isinstance(item, Mapping)) and item.get("key") == key:
            return item.get("value")
    return default


def set_default_annotation(annotations: list[dict[str, Any]], key: str, value: Any) -> None:
    if all(item.get("key") != key for item in annotations):
        annotations.append({"key": key, "value": value})


def page(query: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` (0..200, default 30, 0 meaning the maximum) and ``skip`` (>= 0) from a query."""
    limit = query_int(query, "limit", LIST_LIMIT_DEFAULT)
    if not 0 <= limit <= LIST_LIMIT_MAX:
        raise BadRequest(f"limit: {limit} is out of range; it must be from 0 to {LIST_LIMIT_MAX}")
    skip = query_int(query, "skip", 0)
    if skip < 0:
        raise BadRequest(f"skip: {skip} must not be negative")
    return (limit or LIST_LIMIT_MAX), skip


def query_int(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name}: {raw!r} is not an integer") from None


def query_bool(query: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise BadRequest(f"{name}: {raw!r} must be true or false")


def qualified(value: Any, field: str, own: str, *,
              packaged: bool = False) -> tuple[str, str]:
    """Split ``/ns/name``, ``ns/name`` or ``name`` into (namespace, name); ``_`` is ``own``.

    With ``packaged``, ``/ns/pkg/name`` is one too: (``ns/pkg``, ``name``), the path and name
    upstream keeps for an action in a package."""
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{field}: must be a fully qualified name such as '/{own}/name'")
    parts = value.strip("/").split("/")
    if len(parts) == 1:
        ns, name, pkg = own, parts[0], None
    elif len(parts) == 2:
        (ns, name), pkg = parts, None
    elif len(parts) == 3 and packaged:
        ns, pkg, name = parts
    else:
        raise BadRequest(f"{field}: {value!r} is not a fully qualified name such as '/{own}/name'")
    ns = own if ns == DEFAULT_NAMESPACE else check_name(ns, field)
    if pkg is not None:
        ns = f"{ns}/{check_name(pkg, field)}"
    return ns, check_name(name, field)


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document as the API shows it: without the store's ``_id``/``_rev``."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}
