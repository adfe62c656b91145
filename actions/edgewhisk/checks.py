"""The field checks the annotation's validators share (``schema`` and ``gates``).

Why a module of its own: the document validator (``schema``) and the gate validator (``gates``)
check fields the same way, and every refusal must read alike: an ``AnnotationError`` whose
``path`` names the field and whose reason says what was wanted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

from .exceptions import AnnotationError

PLAIN = r"[A-Za-z0-9_][A-Za-z0-9_.:@-]*"
"""Capabilities, metrics, attributes: pattern text, ASCII only (the annotation's JSON Schema,
``annotation_schema.py``, states it too)."""
PLAIN_NAME = re.compile(PLAIN)


@contextmanager
def at(path: str) -> Iterator[None]:
    """Prefix ``path`` to an ``AnnotationError`` raised inside (``terms`` errors have none)."""
    try:
        yield
    except AnnotationError as error:
        inner = error.path
        joined = path if not inner else f"{path}.{inner}" if path else inner
        raise AnnotationError(joined, error.reason) from None


def refuse(value: Any, path: str, what: str) -> NoReturn:
    """Reject ``value`` at ``path`` for not being ``what``.

    Why NoReturn: after ``if not isinstance(value, T): refuse(...)`` the type checker knows
    ``value`` is a ``T``, so the validated value is returned as what it is, not as ``Any``.
    """
    got = "a boolean" if isinstance(value, bool) else type(value).__name__
    raise AnnotationError(path, f"must be {what}, not {got}")


def expect(value: Any, kind: type | tuple[type, ...], path: str, what: str) -> None:
    # bool is an int in Python but never a JSON number here.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        refuse(value, path, what)
    if not isinstance(value, kind):
        refuse(value, path, what)


def mapping(value: Any, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        refuse(value, path, "an object")
    for key in value:
        if key not in allowed:
            raise AnnotationError(
                f"{path}.{key}" if path else str(key),
                f"unknown key; allowed here: {', '.join(allowed)}",
            )
    return value


def string(value: Any, path: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
    if not isinstance(value, str):
        refuse(value, path, "a string")
    if not value:
        raise AnnotationError(path, "must not be empty")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise AnnotationError(path, f"{value!r} is not valid{': ' + hint if hint else ''}")
    return value


def typed(entry: Any, path: str, table: Mapping[str, tuple[str, ...]], what: str) -> str:
    expect(entry, Mapping, path, "an object")
    kind = entry.get("type")
    if not isinstance(kind, str) or kind not in table:
        raise AnnotationError(
            f"{path}.type", f"{kind!r} must be one of {', '.join(table)} ({what})"
        )
    mapping(entry, path, table[kind])
    return kind


def strict(entry: Mapping[str, Any], path: str) -> bool:
    value = entry.get("strict", False)
    if not isinstance(value, bool):
        refuse(value, path=f"{path}.strict", what="true or false")
    return value
