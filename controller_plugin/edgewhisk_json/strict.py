"""Strict JSON: standard JSON only (RFC 8259), within limits every reader of ours can handle.

Why not ``json.loads``: it accepts ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON), turns
``1e999`` into an infinity, keeps lone surrogates (``"\\ud800"``, which no UTF-8 encoder can
write back: the store, the tunnel and every response then fail *after* the request had its
effect), raises a bare ``ValueError`` for integers over 4,300 digits and a ``RecursionError``
for deep nesting (both 500s). Here every such input is a :class:`JSONError`, raised before the
caller acts on anything.

The limits, and why:

- ``MAX_DEPTH`` (128) levels of arrays and objects: far below Python's recursion limit (1,000),
  so every later recursive walk of a value (the store's ``json.dumps``, the tunnel's message
  builder, the annotation validator) is safe, and far above what real documents nest (an
  annotation nests 4 levels, a Composer state a few more).
- Numbers must be finite IEEE 754 doubles (magnitude at most ``sys.float_info.max``, about
  1.8e308; integers of up to 309 digits): that is what the JavaScript client, ``wsk`` and the
  Node.js runtime read numbers as, so a larger one would arrive elsewhere as ``Infinity``.
  Integers within that range keep their exact value.
- Text must be UTF-8 (bytes), and strings and keys must hold no lone surrogates.

``loads`` reads, ``dumps`` writes (refusing what ``loads`` would refuse of its own output:
non-finite floats, lone surrogates), ``check`` validates a value built in Python.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable
from typing import Any

from .exceptions import JSONError

MAX_DEPTH = 128
"""Deepest nesting of arrays and objects a reader accepts (see the module docstring)."""

MAX_INT_DIGITS = len(str(int(sys.float_info.max)))
"""309: the digits of the largest integer a double holds."""

_MAX_INT = int(sys.float_info.max)
_MAX_FLOAT = sys.float_info.max
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _constant(name: str) -> Any:
    raise JSONError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONError(_out_of_range(f"the number {_short(text)}"))
    return value


def _int(text: str) -> int:
    if len(text) < MAX_INT_DIGITS:  # the common case, first
        return int(text)
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONError(f"the number {_short(text)} has more than {MAX_INT_DIGITS} digits")
    value = int(text)
    if abs(value) > _MAX_INT:
        raise JSONError(_out_of_range(f"the number {_short(text)}"))
    return value


def _out_of_range(number: str) -> str:
    return f"{number} is out of range (at most {_MAX_FLOAT:.6g} in magnitude)"


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"


_DECODER = json.JSONDecoder(parse_float=_float, parse_int=_int, parse_constant=_constant)


def loads(data: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of the JSON text ``data`` (bytes must be UTF-8); :class:`JSONError` for
    anything that is not standard JSON within the limits."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")  # strict: no encoded surrogates either
        except UnicodeDecodeError as exc:
            raise JSONError(f"the text is not UTF-8 (byte {exc.start})") from None
    else:
        text = data
        if not text.isascii() and _SURROGATE.search(text):
            raise JSONError("the text holds a lone surrogate")
    try:
        value = _DECODER.decode(text)
    except JSONError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise JSONError(f"nested more than {max_depth} levels deep") from None
    # Depth and escaped surrogates are checked on the value, each only when the text could
    # hold what it looks for (most texts need neither walk).
    if isinstance(value, dict | list) and len(text) > 2 * max_depth \
            and text.count("[") + text.count("{") > max_depth:
        _depth(value, max_depth)
    surrogates = _SURROGATE_ESCAPE.search(text) is not None
    if surrogates:
        if isinstance(value, str):
            _scalar(value, "", surrogates=True, numbers=False)
        else:
            _walk(value, sys.maxsize, "", surrogates=True, numbers=False)
    return value


def _depth(value: Any, max_depth: int) -> None:
    """``JSONError`` if the arrays and objects of a parsed value nest deeper than
    ``max_depth`` (iteratively; the tightest loop here: only containers are looked at)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise JSONError(f"nested more than {max_depth} levels deep")
        for child in item.values() if type(item) is dict else item:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))


def dumps(value: Any) -> str:
    """Compact JSON of ``value`` (UTF-8 as is); :class:`JSONError` for a non-finite float, a
    lone surrogate, or a value JSON cannot hold."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN, infinities; circular references
        raise JSONError(str(exc)) from None
    except TypeError as exc:
        raise JSONError(str(exc)) from None
    except RecursionError:
        raise JSONError("the value is nested too deeply") from None
    if not text.isascii() and _SURROGATE.search(text):
        raise JSONError("a string holds a lone surrogate (not encodable as UTF-8)")
    return text


def check(value: Any, *, max_depth: int = MAX_DEPTH, what: str = "the value") -> None:
    """:class:`JSONError` unless ``value`` is standard JSON within the limits ``loads``
    applies: dicts with string keys, lists, strings without lone surrogates, finite numbers,
    booleans and None (``what`` names the value in the reason)."""
    _scalar(value, what, surrogates=True, numbers=True)
    _walk(value, max_depth, what, surrogates=True, numbers=True, strict=True)


def _walk(value: Any, max_depth: int, what: str, *, surrogates: bool, numbers: bool,
          strict: bool = False) -> None:
    """Every value inside ``value``, iteratively (no recursion): the depth of arrays and
    objects, and (when asked) strings and numbers; ``strict``: types and keys too."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise _error(what, f"nested more than {max_depth} levels deep")
        children: Iterable[Any] = item
        if isinstance(item, dict):
            if surrogates or strict:
                for key in item:
                    _key(key, what)
            children = item.values()
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif surrogates or numbers or strict:
                _scalar(child, what, surrogates=surrogates, numbers=numbers, strict=strict)


def _key(key: Any, what: str) -> None:
    if not isinstance(key, str):
        raise _error(what, f"an object key is a {type(key).__name__}, not a string")
    if _SURROGATE.search(key):
        raise _error(what, "a key holds a lone surrogate")


def _scalar(item: Any, what: str, *, surrogates: bool, numbers: bool,
            strict: bool = True) -> None:
    if isinstance(item, str):
        if surrogates and _SURROGATE.search(item):
            raise _error(what, "a string holds a lone surrogate")
    elif isinstance(item, bool) or item is None:
        pass
    elif isinstance(item, int):
        if numbers and abs(item) > _MAX_INT:
            digits = f"an integer of {int(item.bit_length() * math.log10(2)) + 1} digits"
            raise _error(what, _out_of_range(digits))
    elif isinstance(item, float):
        if numbers and not math.isfinite(item):
            raise _error(what, _out_of_range(f"the number {item}"))
    elif strict and not isinstance(item, dict | list):
        raise _error(what, f"a {type(item).__name__} is not a JSON value")


def _error(what: str, reason: str) -> JSONError:
    return JSONError(f"{what}: {reason}" if what else reason)
