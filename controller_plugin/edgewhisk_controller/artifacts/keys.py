"""Artifact names and keys: what the registry, the invokers and the tunnel all name versions by.

Why a module of its own: a version is named the same way everywhere (``ns/name@version`` in the
store, on the wire and in a device's node store; a quoted namespace in the blob store; the bare
name in the placement engine's ``cached`` terms), and the invokers and the tunnel, which sit
above the registry, need those rules without the registry's store and blob store.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from .exceptions import InvalidArtifact

RESERVED = ("versions", "content", "resolve", "preload")
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
NAME = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT}){{0,7}}")


def check_name(name: Any) -> str:
    if (not isinstance(name, str) or not NAME.fullmatch(name)
            or name.rsplit("/", 1)[-1] in RESERVED):
        raise InvalidArtifact(
            f"name: {name!r} is not a valid artifact name ('/'-separated segments of letters, "
            f"digits, '_', '.', '-', the last not one of {', '.join(RESERVED)})")
    return name


def check_version(text: Any) -> int:
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text
    if isinstance(text, str) and text.isdigit() and int(text) > 0:
        return int(text)
    raise InvalidArtifact(f"version: {text!r} must be a positive integer")


def doc_id(ns: str, name: str, version: int) -> str:
    return f"{ns}/{name}@{version}"


def blob_key(ns: str, name: str, version: int) -> str:
    return f"{quote(ns, safe='')}/{name}@{version}"


def parse_key(key: str) -> tuple[str, str, int]:
    """``ns/name@version`` (a registry key, as devices and the wire name versions) ->
    (ns, name, version); ``InvalidArtifact`` for anything else."""
    ns, _, rest = key.partition("/")
    name, at, version = rest.rpartition("@")
    if not ns or not at:
        raise InvalidArtifact(f"{key!r} is not a registry key 'ns/name@version'")
    return ns, check_name(name), check_version(version)


def cached_name(key: str) -> str:
    """The placement engine's ``cached`` term of a registry key an invoker holds: the
    artifact's name, without namespace and version (``ns/u1/glucose@3`` -> ``u1/glucose``),
    which is what ``ArtifactNeed.key`` (a bound ref) compares with."""
    return key.partition("/")[2].rpartition("@")[0] or key
