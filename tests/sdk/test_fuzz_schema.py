"""Fuzzing the annotation validator (hypothesis): whatever JSON an ``edgewhisk`` annotation
holds, ``validate`` returns the normalised annotation or raises ``AnnotationError`` naming the
field; no other exception may escape (the controller answers it as a 400)."""

from __future__ import annotations

import copy
from typing import Any

from edgewhisk import AnnotationError, validate
from hypothesis import given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=200, deadline=None)
KEYS = ["version", "consumes", "produces", "gates", "policies", "kind", "name", "ref",
        "selector", "locality", "type", "metric", "predicate", "target", "attribute", "within",
        "node", "capability", "strict", "network", "format", "metrics", "trained_on", "x"]
SCALARS = (st.none() | st.booleans() | st.integers(-10, 10**20) | st.floats(allow_nan=False)
           | st.text(max_size=12) | st.sampled_from(
               ["model", "data", "local", "cloud", "network:home", "<0.2", ">=0.8", "2s",
                "{usr}/x", "{usr}", "a/b", "drift", "bias", "deadline", "fn", "gpu", "", "1"]))
JSON = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children,
                                      max_size=5), max_leaves=25)
VALID = {"version": 1,
         "consumes": [{"kind": "model", "name": "base", "selector": {"type": "classifier"}},
                      {"kind": "data", "name": "readings", "ref": "{usr}/glucose",
                       "locality": "local"}],
         "produces": [{"kind": "model", "ref": "{usr}/glucose-model", "locality": "local"}],
         "gates": [{"type": "drift", "metric": "confidence", "predicate": "<0.2",
                    "target": "base"}],
         "policies": [{"type": "deadline", "within": "2s"},
                      {"type": "fn", "node": "{usr}_device", "capability": "gpu",
                       "strict": False}]}


def _validates_or_refuses(value: Any) -> None:
    try:
        validate(value)
    except AnnotationError:
        pass


@FUZZ
@given(JSON)
def test_arbitrary_json_validates_or_raises_annotation_error_only(value: Any) -> None:
    _validates_or_refuses(value)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    children = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, child in children:
        found.extend(_paths(child, (*prefix, key)))
    return found


@FUZZ
@given(st.data(), JSON)
def test_a_valid_annotation_with_one_part_replaced_validates_or_refuses(
        data: st.DataObject, replacement: Any) -> None:
    doc = copy.deepcopy(VALID)
    path = data.draw(st.sampled_from(_paths(doc)[1:]))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = replacement
    _validates_or_refuses(doc)
