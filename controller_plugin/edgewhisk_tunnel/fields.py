"""The schema's dataclasses to and from parsed JSON, one compiled function per type.

Why compiled: every frame of every device is checked field by field against the message
classes' type hints (``messages.decode``) and every frame sent is turned into plain JSON values
(``messages.encode``). Walking the hints generically cost more than parsing the JSON itself
(a ``result``'s decode was ~9x its ``json.loads``), and a tunnelled activation pays it four
times (``run`` and ``result``, each encoded on one side and decoded on the other). So each hint
becomes, once, a function that does only its own check: the type hints stay the one source of
truth, the checks and their reasons are the same as before, only the dispatch on the hint's
shape happens once per type instead of once per value.

``ProtocolError`` reasons name the offending field by its path (``result.outcome.logs[2]``);
paths are formatted only on the way to an error, except the fields' own (``a.b``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

from .errors import ProtocolError

Convert = Callable[[Any, str], Any]
"""Parsed JSON value and its path -> the checked value (raises ``ProtocolError``)."""
Plain = Callable[[Any], Any]
"""A value of the schema -> plain JSON values (dicts, lists, scalars)."""


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def wrong(path: str, expected: str, value: Any) -> ProtocolError:
    return ProtocolError(f"{path} must be {expected}, got {type_name(value)}")


# --- from JSON ---------------------------------------------------------------------------------

def _any(value: Any, path: str) -> Any:
    return value


def _bool(value: Any, path: str) -> bool:
    if value is True or value is False:
        return value
    raise wrong(path, "a boolean", value)


def _int(value: Any, path: str) -> int:
    if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise wrong(path, "an integer", value)


def _float(value: Any, path: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise wrong(path, "a number", value)


def _str(value: Any, path: str) -> str:
    if isinstance(value, str):
        return value
    raise wrong(path, "a string", value)


def _bytes(value: Any, path: str) -> bytes:
    raise ProtocolError(f"{path} travels as the binary frame's payload, not in JSON")


_SCALARS: dict[Any, Convert] = {bool: _bool, int: _int, float: _float, str: _str,
                                bytes: _bytes}
_EXACT: dict[Any, type] = {str: str, int: int, bool: bool}
"""Scalar hints whose JSON values are exactly of that type when valid: an array of them is
checked with one ``all`` instead of one call per element."""


def _optional(inner: Convert) -> Convert:
    def optional(value: Any, path: str) -> Any:
        return None if value is None else inner(value, path)
    return optional


def _tuple(hint: Any) -> Convert:
    inner = converter(hint)
    exact = _EXACT.get(hint)

    def array(value: Any, path: str) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise wrong(path, "an array", value)
        if exact is not None and all(type(item) is exact for item in value):
            return tuple(value)
        return tuple(inner(item, f"{path}[{i}]") for i, item in enumerate(value))
    return array


def _mapping(hint: Any) -> Convert:
    inner = converter(hint)
    exact = _EXACT.get(hint)

    def mapping(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise wrong(path, "an object", value)
        if inner is _any or (exact is not None
                             and all(type(item) is exact for item in value.values())):
            return dict(value)
        return {k: inner(v, f"{path}.{k}") for k, v in value.items()}
    return mapping


_CONVERTERS: dict[Any, Convert] = {}


def converter(hint: Any) -> Convert:
    """The check of one type hint, worked out once per hint."""
    convert = _CONVERTERS.get(hint)
    if convert is None:
        convert = _CONVERTERS[hint] = _converter_of(hint)
    return convert


def _converter_of(hint: Any) -> Convert:
    origin = typing.get_origin(hint)
    if hint is Any:
        return _any
    if origin in (Union, types.UnionType):
        (inner,) = [option for option in typing.get_args(hint) if option is not type(None)]
        return _optional(converter(inner))
    if dataclasses.is_dataclass(hint):
        return lambda value, path: build(hint, value, path)  # type: ignore[arg-type]
    if hint in _SCALARS:
        return _SCALARS[hint]
    if origin is tuple:
        return _tuple(typing.get_args(hint)[0])
    if origin is Mapping:
        return _mapping(typing.get_args(hint)[1])
    raise TypeError(f"unsupported field type {hint!r}")  # a bug in the schema


# --- to JSON -----------------------------------------------------------------------------------

_JSON_SCALARS = (str, int, float, bool)


def plain(value: Any) -> Any:
    """Any value to plain JSON values (what a field typed ``Any`` holds, and the fallback)."""
    if value is None or type(value) in _JSON_SCALARS:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plan(type(value)).plain(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def _plainer_of(hint: Any) -> Plain | None:
    """The conversion of a value of ``hint`` to plain JSON values, worked out once; None for
    a value that is one already (a scalar, or None)."""
    origin = typing.get_origin(hint)
    if hint in _SCALARS:
        return None
    if origin in (Union, types.UnionType):
        (inner,) = [option for option in typing.get_args(hint) if option is not type(None)]
        each = _plainer_of(inner)
        if each is None:
            return None
        return lambda value: None if value is None else each(value)
    if dataclasses.is_dataclass(hint):
        return lambda value: _plan(type(value)).plain(value)
    if origin is tuple and typing.get_args(hint)[0] in _SCALARS:
        return list
    if origin is Mapping and typing.get_args(hint)[1] in _SCALARS:
        return dict
    return plain  # Any, and containers of dataclasses or of Any


# --- one plan per dataclass --------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What decoding and encoding one dataclass needs, worked out once per class."""

    cls: type[Any]
    converters: dict[str, Convert]  # field name -> its check
    required: tuple[str, ...]  # fields without a default, in declaration order
    fields: tuple[tuple[str, bool, Any, Plain | None], ...]  # name, ADDED, default, to JSON

    def plain(self, value: Any) -> dict[str, Any]:
        out = {}
        for name, added, default, to_plain in self.fields:
            item = getattr(value, name)
            if not (added and item == default):  # an ADDED field at its default stays out
                out[name] = item if to_plain is None else to_plain(item)
        return out


_PLANS: dict[type[Any], Plan] = {}


def _plan(cls: type[Any]) -> Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
        plan = _PLANS[cls] = Plan(
            cls=cls,
            converters={f.name: converter(hints[f.name]) for f in fields},
            required=tuple(f.name for f in fields if f.default is dataclasses.MISSING
                           and f.default_factory is dataclasses.MISSING),
            fields=tuple((f.name, bool(f.metadata.get("added")), _default(f),
                          _plainer_of(hints[f.name])) for f in fields))
    return plan


def _default(f: dataclasses.Field[Any]) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def build(cls: type[Any], obj: Any, path: str) -> Any:
    """An instance of the dataclass ``cls`` from the parsed JSON ``obj`` (at ``path``)."""
    if not isinstance(obj, dict):
        raise wrong(path, "an object", obj)
    plan = _plan(cls)
    converters = plan.converters
    if not obj.keys() <= converters.keys():
        raise ProtocolError(f"{path}: unexpected field {sorted(set(obj) - set(converters))[0]!r}")
    for name in plan.required:
        if name not in obj:
            raise ProtocolError(f"{path}: missing field {name!r}")
    return cls(**{name: converters[name](value, f"{path}.{name}")
                  for name, value in obj.items()})

