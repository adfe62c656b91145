"""The JSON Schema of the ``edgewhisk`` annotation, generated from the validator's own rules.

Why: tools that do not run Python (an editor, a CI linter, a stock OpenWhisk deployment script)
can check an annotation before it reaches the controller. Why generated: the keys, kinds,
types and string grammars are the constants ``schema.py`` and ``terms.py`` validate with, so
the two cannot drift apart (``edgewhisk action schema`` prints it; ``docs/annotation.schema.json``
is that output, and a test keeps them equal and checks the schema against the validator on
generated annotations).

Every pattern is anchored with ``^`` and ``(?![\\s\\S])`` ("nothing follows"), which means the
same in ECMA-262 and in Python's ``re`` (``$`` would let Python accept a trailing newline).

JSON Schema cannot state every rule of :func:`edgewhisk.validate`; these it leaves out
(``CROSS_FIELD_RULES``, also in the schema's ``$comment``):
- artifact names are unique across ``consumes`` and ``produces`` (given or defaulted);
- a gate's ``target`` names an artifact it can target (a drift gate's a consumed model, a bias or
  metric gate's a produced artifact), and a bias gate's ``data`` a consumed data artifact while
  its target is a model;
- a bias gate's ``bins`` are strictly ascending;
- every ``{variable}`` of a locality, node or network is bound by an artifact ref;
- numbers in durations and predicates fit a double (``1e999`` is infinite, ``1e-999ms`` zero);
- whole numbers (the version, a drift gate's ``window``) are integers, not ``1.0`` (JSON Schema
  counts them as one number);
- a data gate's ``ref`` is the ref of a consumed data artifact, and its ``new_items`` is
  ``>=N`` or ``>N`` with a whole number N;
- a context policy's ``battery`` compares the level (0 to 1) with ``<``, ``<=``, ``>`` or ``>=``.
Everything the validator accepts, the schema accepts; what the schema accepts, the validator
accepts unless one of those rules refuses it.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Any

from .checks import PLAIN
from .gates import ENTITY, GATE_KEYS, MAX_BINS, MAX_WINDOW, VALIDATORS
from .offline import DEVICE_ID
from .schema import (
    ARTIFACT_KEYS,
    CONTEXT_CONDITIONS,
    IDENTIFIER,
    KINDS,
    NODE,
    ONCE_POLICIES,
    PIECE,
    POLICY_KEYS,
    PRODUCED_NAME,
    RESERVED_NAMES,
    SCHEMA_VERSION,
    SECTIONS,
    SELECTOR_KEYS,
)
from .terms import DURATION, PREDICATE

SCHEMA_ID = f"urn:edgewhisk:annotation:v{SCHEMA_VERSION}"
END = r"(?![\s\S])"
CROSS_FIELD_RULES = (
    "artifact names are unique across consumes and produces (given or defaulted)",
    "a gate's target names an artifact it can target (a drift gate's a consumed model, a bias "
    "or metric gate's a produced artifact), and a bias gate's data a consumed data artifact "
    "while its target is a model",
    "a bias gate's bins are strictly ascending",
    "every {variable} of a locality, node or network is bound by an artifact ref",
    "numbers in durations and predicates fit a double",
    "whole numbers (the version, a drift gate's window) are integers, not 1.0",
    "a data gate's ref is the ref of a consumed data artifact, and its new_items is >=N or >N "
    "with a whole number N",
    "a context policy's battery compares the level (0 to 1) with <, <=, > or >=",
)

Schema = dict[str, Any]


def _pattern(body: str) -> Schema:
    return {"type": "string", "pattern": f"^(?:{body}){END}"}


def _optional(schema: Schema) -> Schema:
    """A field the validator reads as absent when it is ``null``."""
    return {"anyOf": [{"type": "null"}, schema]}


_SEGMENT = r"(?!\.\.?(?:/|" + END + r"))" + PIECE  # a ref segment, never '.' or '..'
REF = _pattern(rf"{_SEGMENT}(?:/{_SEGMENT})*")
TOKEN = _pattern(PIECE)
NODE_TEXT = _pattern(NODE)
LOCALITY = _pattern(rf"local|cloud|network:{PIECE}")
DURATION_TEXT = _pattern(rf"(?=[0-9.]*[1-9]){DURATION}")  # positive: some digit is not zero
PREDICATE_TEXT = _pattern(PREDICATE)
CONSUMED_NAME = {**_pattern(IDENTIFIER),
                 "not": {"enum": sorted({*keyword.kwlist, *RESERVED_NAMES})}}
_NO_NAME = {"anyOf": [{"not": {"required": ["name"]}},
                      {"properties": {"name": {"type": "null"}}, "required": ["name"]}]}
_HAS = {"ref": {"properties": {"ref": {"type": "string"}}, "required": ["ref"]},
        "selector": {"properties": {"selector": {"type": "object"}}, "required": ["selector"]}}


def _names(item: Schema) -> Schema:
    """A string, or a non-empty list of distinct strings."""
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": 1,
                             "uniqueItems": True}]}


def _closed(properties: Schema, required: tuple[str, ...] = ()) -> Schema:
    return {"type": "object", "properties": properties, "additionalProperties": False,
            **({"required": list(required)} if required else {})}


def _selector() -> Schema:
    fields: Schema = {"type": {"type": "string", "minLength": 1},
                      "trained_on": {"type": "string", "minLength": 1},
                      "input": {"type": "string", "minLength": 1},
                      "metrics": {"type": "object", "minProperties": 1,
                                  "propertyNames": _pattern(PLAIN),
                                  "additionalProperties": PREDICATE_TEXT},
                      "order": _pattern(rf"newest|best:{PLAIN}")}
    assert set(fields) == set(SELECTOR_KEYS), "a selector key the schema does not type"
    return {**_closed(fields), "minProperties": 1}


def _artifact(section: str) -> Schema:
    """One entry of ``consumes`` or ``produces``: its fields, then the rules between them."""
    consumes = section == "consumes"
    name = CONSUMED_NAME if consumes else _pattern(PRODUCED_NAME)
    last = IDENTIFIER if consumes else r"(?:[A-Za-z0-9_.@-])+"  # a default name: no {variable}
    fields: Schema = {"kind": {"enum": list(KINDS)}, "name": _optional(name), "ref": _optional(REF),
                      "selector": _optional(_selector()) if consumes else {"type": "null"},
                      "locality": _optional(LOCALITY)}
    assert set(fields) == set(ARTIFACT_KEYS), "an artifact key the schema does not type"
    model = {"properties": {"kind": {"const": "model"}}}
    rules: list[Schema] = [
        # a ref, or (a consumed model) a selector
        {"if": model, "then": {"anyOf": [_HAS["ref"], _HAS["selector"]]} if consumes
         else _HAS["ref"], "else": _HAS["ref"]},
        # only consumed models take a selector
        {"if": {"not": model}, "then": {"properties": {"selector": {"type": "null"}}}},
        # without a name, the ref's last segment is the name
        {"if": _NO_NAME, "then": {**_HAS["ref"], "properties": {"ref": {
            "type": "string", "pattern": f"(?:^|/){last}{END}"}}}},
    ]
    return {**_closed(fields, ("kind",)), "allOf": rules}


def _typed(table: Mapping[str, tuple[str, ...]], fields: Mapping[str, Schema],
           required: Mapping[str, tuple[str, ...]],
           own: Mapping[str, Mapping[str, Schema]] | None = None) -> Schema:
    """An object whose ``type`` picks which keys it may have (a gate, a policy); ``own`` gives
    a type fields of its own where a shared key means something else for it."""
    variants = []
    for kind, keys in table.items():
        typed = {key: (own or {}).get(kind, fields).get(key, fields[key])
                 for key in keys if key != "type"}
        variants.append(_closed({"type": {"const": kind}, **typed}, ("type", *required[kind])))
    return {"type": "object", "required": ["type"], "properties": {"type": {"enum": list(table)}},
            "oneOf": variants}


def _gate() -> Schema:
    fields = {"attribute": _pattern(PLAIN), "metric": _pattern(PLAIN),
              "predicate": PREDICATE_TEXT,
              "target": _optional({"type": "string", "minLength": 1}),
              "data": _optional({"type": "string", "minLength": 1}),
              "bins": _optional({"type": "array", "items": {"type": "number"}, "minItems": 1,
                                 "maxItems": MAX_BINS}),
              "window": _optional({"type": "integer", "minimum": 1, "maximum": MAX_WINDOW}),
              "cooldown": _optional(DURATION_TEXT), "strict": {"type": "boolean"},
              "fallback": _optional(_pattern(ENTITY)), "trigger": _optional(_pattern(ENTITY)),
              "ref": REF, "new_items": PREDICATE_TEXT}
    schema = _typed(GATE_KEYS, fields, {"bias": ("attribute", "predicate"),
                                        "drift": ("metric", "predicate"),
                                        "metric": ("metric", "predicate"),
                                        "data": ("ref", "new_items")})
    schema["allOf"] = [_needs("bins", {"data": {"type": "string"}}),  # bins group measured data
                       _needs("fallback", {"strict": {"const": True}})]  # only strict ones route
    return schema


def _needs(field: str, then: Schema) -> Schema:
    """When ``field`` is given (not null), the fields of ``then`` must be given as it says."""
    return {"if": {"properties": {field: {"not": {"type": "null"}}}, "required": [field]},
            "then": {"properties": then, "required": list(then)}}


def _policy() -> Schema:
    flag = _optional({"type": "boolean"})
    fields = {"within": DURATION_TEXT, "strict": {"type": "boolean"},
              "node": _optional(NODE_TEXT), "capability": _optional(_names(_pattern(PLAIN))),
              "network": _optional(_names(TOKEN)), "battery": _optional(PREDICATE_TEXT),
              "charging": flag, "idle": flag, "metered": flag}
    # an offline policy names devices by plain id (no {variables}), one or a list
    offline = {"node": _optional(_names(_pattern(DEVICE_ID.pattern))),
               "capability": _optional(_names(_pattern(PLAIN)))}
    schema = _typed(POLICY_KEYS, fields, {"deadline": ("within",), "fn": (),
                                          "data": ("network",), "context": (),
                                          "wait": ("within",), "offline": ()},
                    own={"offline": offline})

    def needs_one(kind: str, keys: tuple[str, ...]) -> Schema:
        """A policy of ``kind`` gives at least one of ``keys`` (not null)."""
        return {"if": {"properties": {"type": {"const": kind}}},
                "then": {"anyOf": [{"properties": {key: {"not": {"type": "null"}}},
                                    "required": [key]} for key in keys]}}
    schema["allOf"] = [needs_one("fn", ("node", "capability")), needs_one("data", ("network",)),
                       needs_one("context", CONTEXT_CONDITIONS)]
    return schema


def _default_target(types: tuple[str, ...], section: str) -> Schema:
    """A gate of ``types`` without a target needs exactly one model in ``section`` (its default
    target): a drift gate's a consumed model, a validator gate's a produced one."""
    untargeted = {"properties": {"type": {"enum": list(types)}}, "required": ["type"],
                  "anyOf": [{"not": {"required": ["target"]}},
                            {"properties": {"target": {"type": "null"}}, "required": ["target"]}]}
    one_model = {"contains": {"properties": {"kind": {"const": "model"}}},
                 "minContains": 1, "maxContains": 1}
    return {"if": {"properties": {"gates": {"contains": untargeted}}, "required": ["gates"]},
            "then": {"properties": {section: one_model}, "required": [section]}}


def _at_most_one(kind: str) -> Schema:
    """A policies array with at most one policy of ``kind``."""
    return {"contains": {"properties": {"type": {"const": kind}}}, "minContains": 0,
            "maxContains": 1}


def json_schema() -> Schema:
    """The JSON Schema (draft 2020-12) of annotation schema version ``SCHEMA_VERSION``."""
    sections: Schema = {"consumes": {"type": "array", "items": _artifact("consumes")},
                        "produces": {"type": "array", "items": _artifact("produces")},
                        "gates": {"type": "array", "items": _gate()},
                        "policies": {"type": "array", "items": _policy(),
                                     "allOf": [_at_most_one(kind) for kind in ONCE_POLICIES]}}
    assert set(sections) == set(SECTIONS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"The edgewhisk annotation, schema version {SCHEMA_VERSION}",
        "description": "What an action consumes and produces, the gates it fires under and "
                       "the policies that place it; written by the edgewhisk SDK's decorators "
                       "and validated by edgewhisk.validate.",
        "$comment": "Not stated here, checked by edgewhisk.validate: "
                    + "; ".join(CROSS_FIELD_RULES) + ".",
        "type": "object",
        "required": ["version"],
        "additionalProperties": False,
        "properties": {"version": {"type": "integer", "const": SCHEMA_VERSION}, **sections},
        "allOf": [_default_target(("drift",), "consumes"),
                  _default_target(VALIDATORS, "produces")],
    }
