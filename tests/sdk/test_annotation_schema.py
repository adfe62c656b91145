"""The published JSON Schema of the ``edgewhisk`` annotation agrees with ``edgewhisk.validate``.

On annotations hypothesis generates near the edges of every rule (each field null, absent, of
the wrong type, from a pool of tricky strings — Unicode digits and letters, stray braces,
``.``/``..`` segments, keywords, trailing newlines — or valid): whatever the validator accepts,
the schema accepts; whatever the schema accepts, the validator accepts unless one of the rules
the schema cannot state (``NOT_STATED`` of ``annotation_schema.py``) refuses it, which the
validator's message shows. Both sides are found by the generator (``find``), so the property
cannot hold vacuously. ``docs/annotation.schema.json`` is ``edgewhisk action schema``'s output.
"""

from __future__ import annotations

import copy
import json
import keyword
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from edgewhisk import AnnotationError, validate
from edgewhisk.annotation_schema import json_schema
from edgewhisk.gates import MAX_BINS, MAX_WINDOW
from hypothesis import find, given, settings
from hypothesis import strategies as st

from sdk.design_example import design_doc

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "docs" / "annotation.schema.json"
SCHEMA = jsonschema.Draft202012Validator(json_schema())

# What the validator says when it refuses by a rule the schema cannot state (one per rule).
NOT_STATED_MESSAGES = ("artifact names must be unique", "names no artifact",
                       "names no consumed data artifact", "bias is measured on a produced model",
                       "must be strictly ascending", "is bound nowhere",
                       "compares with an infinite number", "is not supported; use 1",
                       "must be a number of rows, not float", "is the ref of no consumed data",
                       "must be '>=N' or '>N'", "must compare the level (0..1)")
UNDERFLOW = re.compile(r"'(.*[1-9].*)' must be a positive duration")
"""A duration whose text is not zero, yet is zero as a double (``0.000...1ms``)."""


def not_stated(refusal: str) -> bool:
    """Whether the validator refused by a rule the schema does not state."""
    return any(words in refusal for words in NOT_STATED_MESSAGES) or bool(
        UNDERFLOW.search(refusal))

MISC = ["", " ", "\n", "a\n", "é", "\u0663", "{", "}", "{usr", "usr}", "{1x}", "/", "//", ".",
        "..", "a/./b", "a/../b", "class", "args", "None", "_x", "1abc", "x y", "a:b", "a@b"]
WORDS = ["readings", "base", "glucose", "model_1", "x", "ns.name", "a-b", "Gl_9"]
REFS = ["u1/glucose", "{usr}/glucose", "{usr}/glucose-model", "a/{day}", "glucose",
        "{usr}", "a/b/c", "a/.hidden", "a.b/c@2"]
PREDICATES = ["<0.8", ">=1", " == 2 ", "!=-1e3", "<<0.8", "<", "<1e999", "< 0x1", "<\u0663",
              ">.5", "<1.", "<=+3e-2\n"]
DURATIONS = ["2s", "500ms", "1.5m", "1h", "0s", "0.0s", ".5s", "2x", "s", "1e3s", "\u0663s",
             "2s\n", "0." + "0" * 330 + "1ms", "9" * 400 + "h"]
LOCALITIES = ["local", "cloud", "network:lab", "network:{usr}_home", "network:{zz}", "network:",
              "edge", "network:a b"]
TOKENS = ["{usr}_device", "edge", "cloud", "gpu=a100", "{site}", "{nope}", "a b", "x/y"]
PLAINS = ["gpu", "camera", "accuracy", "bias.gender", "a:b", "9x", "_u", "-x", "x y"]


def weighted(draw: st.DrawFn, often: st.SearchStrategy[Any], rarely: st.SearchStrategy[Any],
             odds: int) -> Any:
    """``often``, ``odds`` times in ``odds + 1``; else ``rarely``. (Not ``one_of`` with copies:
    its repr grows with every copy at every level of nesting.)"""
    return draw(often if draw(st.integers(0, odds)) else rarely)


@st.composite
def strings(draw: st.DrawFn, *pools: list[str]) -> Any:
    pool = st.sampled_from(sorted({item for items in pools for item in items}))
    return weighted(draw, pool, st.text("ab{}/.-_:9 \n\u0663é", max_size=6), 4)


def scalar() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.just(1.0),
                     st.sampled_from(MISC), st.lists(st.integers(), max_size=1),
                     st.just({}))


@st.composite
def field(draw: st.DrawFn, likely: st.SearchStrategy[Any]) -> Any:
    """Mostly a plausible value; sometimes null or anything else."""
    return weighted(draw, likely, st.one_of(st.none(), scalar()), 10)


@st.composite
def obj(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]],
        required: tuple[str, ...] = ()) -> Any:
    """An object of ``fields`` (the optional ones each maybe); rarely with an unknown key,
    or not an object at all."""
    optional = {k: v for k, v in fields.items() if k not in required}
    roll = draw(st.integers(0, 9))
    if roll == 0:
        return draw(scalar())
    if roll == 1:
        optional = {**optional, "extra": scalar()}
    return draw(st.fixed_dictionaries({k: fields[k] for k in required}, optional=optional))


SELECTOR = obj({"type": field(strings(WORDS, MISC)), "trained_on": field(strings(WORDS)),
                "input": field(strings(WORDS)),
                "metrics": field(st.dictionaries(strings(PLAINS, MISC),
                                                 field(strings(PREDICATES)), max_size=2)),
                "order": field(strings(["newest", "best:accuracy", "best:", "oldest",
                                        "best:a b"]))})


def artifact() -> st.SearchStrategy[Any]:
    return obj({"kind": field(st.sampled_from(["data", "model", "Model"])),
                "name": field(strings(WORDS, MISC, list(keyword.kwlist)[:4])),
                "ref": field(strings(REFS, MISC)), "selector": field(SELECTOR),
                "locality": field(strings(LOCALITIES))}, required=("kind",))


def typed(kind: str, fields: dict[str, st.SearchStrategy[Any]],
          required: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """A gate or policy of one type: mostly its own keys; sometimes a wrong type or key."""
    return obj({"type": st.one_of(st.just(kind), st.just(kind), st.just(kind), scalar()),
                **fields}, required=("type", *required))


PREDICATE_FIELD = field(strings(PREDICATES))
GROWTH = [">=100", ">0", ">= 1e2", ">=1.5", "<100", "==3", ">=-1", ">=100.0"]
"""A data gate's ``new_items`` (and a context policy's ``battery``), near the edges."""
BATTERY = [">=0.3", "<0.2", "<= 1", ">1.5", "==0.5", ">=-0.1", "> .25"]
FLAG = field(st.booleans())
ENTITIES = ["retrain", "glucose.drift", "a-b@2", "x" * 256, "x" * 257, "-x", "a b", "a/b"]
TARGET = field(strings(WORDS, REFS))
TRIGGER = field(strings(ENTITIES))
BINS = st.lists(st.one_of(st.integers(-2, 80), st.floats(-1, 100, allow_nan=False),
                          st.booleans()), max_size=MAX_BINS + 1)
WINDOWS = st.one_of(st.integers(-1, 3), st.sampled_from([MAX_WINDOW, MAX_WINDOW + 1, 2.0]))
GATE = st.one_of(
    typed("bias", {"attribute": field(strings(PLAINS)), "predicate": PREDICATE_FIELD,
                   "target": TARGET, "data": field(strings(WORDS)), "bins": field(BINS),
                   "trigger": TRIGGER}, ("attribute", "predicate")),
    typed("drift", {"metric": field(strings(PLAINS)), "predicate": PREDICATE_FIELD,
                    "target": TARGET, "window": field(WINDOWS),
                    "cooldown": field(strings(DURATIONS)), "strict": field(st.booleans()),
                    "fallback": field(strings(ENTITIES)), "trigger": TRIGGER},
          ("metric", "predicate")),
    typed("metric", {"metric": field(strings(PLAINS)), "predicate": PREDICATE_FIELD,
                     "target": TARGET, "trigger": TRIGGER}, ("metric", "predicate")),
    typed("data", {"ref": field(strings(REFS, MISC)), "new_items": field(strings(GROWTH)),
                   "trigger": TRIGGER}, ("ref", "new_items")),
    typed("fairness", {"metric": field(strings(PLAINS))}, ()))
NAMES = field(st.one_of(strings(TOKENS), st.lists(strings(TOKENS), max_size=3)))
POLICY = st.one_of(
    typed("deadline", {"within": field(strings(DURATIONS)), "strict": field(st.booleans())},
          ("within",)),
    typed("fn", {"node": field(strings(TOKENS)), "strict": field(st.booleans()),
                 "capability": field(st.one_of(strings(PLAINS),
                                               st.lists(strings(PLAINS), max_size=3)))}, ()),
    typed("data", {"network": NAMES, "strict": field(st.booleans()), "within": field(
        strings(DURATIONS))}, ("network",)),
    typed("context", {"battery": field(strings(BATTERY, PREDICATES)), "charging": FLAG,
                      "idle": FLAG, "metered": FLAG, "network": NAMES,
                      "strict": field(st.booleans())}, ()),
    typed("wait", {"within": field(strings(DURATIONS))}, ("within",)),
    typed("offline", {"node": NAMES, "capability": field(st.one_of(
        strings(PLAINS), st.lists(strings(PLAINS), max_size=3)))}, ()))


def section(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return field(st.lists(item, max_size=3))


NOISY = obj({"version": st.one_of(st.just(1), st.just(1), scalar()),
             "consumes": section(artifact()), "produces": section(artifact()),
             "gates": section(GATE), "policies": section(POLICY)}, required=("version",))
"""Every field plausible, null or anything: mostly refused, near every rule."""

OK_NAMES = ["readings", "base", "glucose", "model_1", "x", "Gl_9", "feed"]
OK_TOKENS = ["edge", "cloud", "gpu=a100", "u1_device", "lab"]


@st.composite
def valid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid annotation: unique names, targets that exist, variables only in refs."""
    names = draw(st.lists(st.sampled_from(OK_NAMES), unique=True, max_size=4))
    split = draw(st.integers(0, len(names)))
    doc: dict[str, Any] = {"version": 1, "consumes": [], "produces": []}
    for i, name in enumerate(names):
        section = "consumes" if i < split else "produces"
        kind = draw(st.sampled_from(["data", "model"]))
        prefix = draw(st.sampled_from(["", "{usr}/", "a/b/", "{usr}/{day}/"]))
        entry: dict[str, Any] = {"kind": kind}
        how = draw(st.sampled_from(["default", "named", "selector"]))
        if how == "selector" and section == "consumes" and kind == "model":
            entry.update(name=name, selector=draw(st.sampled_from(
                [{"type": "classifier"}, {"metrics": {"accuracy": ">=0.8"}, "order": "newest"},
                 {"trained_on": "glucose", "order": "best:f1"}])))
        elif how == "named":
            entry.update(name=name, ref=prefix + draw(st.sampled_from(["g-1", "x.y", "v@2"])))
        else:
            entry["ref"] = prefix + name
        if draw(st.booleans()):
            entry["locality"] = draw(st.sampled_from(["local", "cloud", "network:lab"]))
        doc[section].append(entry)
    gates = gate(doc)
    doc["gates"] = draw(st.just([]) if gates is None else st.lists(gates, max_size=2))
    doc["policies"] = draw(st.lists(st.one_of(
        st.fixed_dictionaries({"type": st.just("fn"), "node": st.sampled_from(OK_TOKENS)},
                              optional={"strict": st.booleans(), "capability": st.one_of(
                                  st.sampled_from(PLAINS[:3]),
                                  st.lists(st.sampled_from(PLAINS[:4]), min_size=1,
                                           unique=True))}),
        st.fixed_dictionaries({"type": st.just("data"), "network": st.one_of(
            st.sampled_from(OK_TOKENS), st.lists(st.sampled_from(OK_TOKENS), min_size=1,
                                                 unique=True))},
            optional={"strict": st.booleans()})), max_size=2))
    if draw(st.booleans()):
        doc["policies"].append(draw(st.fixed_dictionaries({"type": st.just("offline")}, optional={
            "node": st.one_of(st.sampled_from(OK_TOKENS[:2]), st.lists(
                st.sampled_from(["tablet-1", "edge.2", "a_b"]), min_size=1, unique=True)),
            "capability": st.lists(st.sampled_from(PLAINS[:4]), min_size=1, unique=True)})))
    if draw(st.booleans()):
        doc["policies"].append({"type": "deadline", "within": draw(st.sampled_from(
            DURATIONS[:4]))})
    if draw(st.booleans()):
        doc["policies"].append(draw(st.fixed_dictionaries(
            {"type": st.just("context"), "charging": st.booleans()},
            optional={"battery": st.sampled_from(BATTERY[:3]), "idle": st.booleans(),
                      "metered": st.booleans(), "network": st.sampled_from(OK_TOKENS),
                      "strict": st.booleans()})))
        doc["policies"].append({"type": "wait", "within": draw(st.sampled_from(
            DURATIONS[:4]))})
    data = [e["ref"] for e in doc["consumes"] if e["kind"] == "data" and "ref" in e]
    if data and draw(st.booleans()):
        doc["gates"].append({"type": "data", "ref": draw(st.sampled_from(data)),
                             "new_items": draw(st.sampled_from(GROWTH[:3]))})
    return doc


def gate(doc: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]] | None:
    """A valid gate of ``doc``: on its one consumed (drift) or produced (bias, metric) model by
    default, else on an artifact it names; a bias gate measured on consumed data if there is
    some and the target is a model."""
    def named(section: str, kind: str | None = None) -> list[str]:
        return [e.get("name") or e["ref"].rsplit("/", 1)[-1] for e in doc[section]
                if kind is None or e["kind"] == kind]
    consumed, produced = named("consumes", "model"), named("produces", "model")
    options = {"trigger": st.sampled_from(ENTITIES[:3])}
    drift = {**options, "window": st.integers(1, 3), "cooldown": st.sampled_from(DURATIONS[:4])}
    choices: list[st.SearchStrategy[dict[str, Any]]] = []
    for types, models, targets in ((("drift",), consumed, consumed),
                                   (("bias", "metric"), produced, named("produces"))):
        for kind in types:
            head = {"type": st.just(kind), "predicate": st.sampled_from(PREDICATES[:6]),
                    **({"attribute": st.sampled_from(PLAINS[:4])} if kind == "bias" else
                       {"metric": st.sampled_from(PLAINS[:4])})}
            extra = drift if kind == "drift" else options
            if len(models) == 1:
                choices.append(st.fixed_dictionaries(head, optional=extra))
            if targets:
                choices.append(st.fixed_dictionaries(
                    {**head, "target": st.sampled_from(targets)}, optional=extra))
    data = named("consumes", "data")
    if data and produced:
        choices.append(st.fixed_dictionaries(
            {"type": st.just("bias"), "attribute": st.just("age"), "predicate": st.just("<0.8"),
             "target": st.sampled_from(produced), "data": st.sampled_from(data)},
            optional={"bins": st.sampled_from([[40], [40, 60.5], [-1, 0, 1]])}))
    if len(consumed) == 1:
        choices.append(st.just({"type": "drift", "metric": "psi", "predicate": ">0.5",
                                "strict": True, "fallback": "rules-based"}))
    return st.one_of(choices) if choices else None


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``value`` (dict keys and list indexes), outermost first."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _leaves(item, (*path, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """``base`` with one place replaced by a tricky value, dropped, or given an extra key."""
    doc = draw(base)
    path = draw(st.sampled_from(_leaves(doc)))
    if not path:
        return doc
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    what = draw(st.sampled_from(["replace", "replace", "drop", "extra"]))
    if what == "drop":
        del parent[path[-1]]
    elif what == "extra" and isinstance(parent, dict):
        parent[draw(st.sampled_from(["extra", "type", "name", "target", "strict"]))] = draw(
            strings(WORDS, MISC))
    else:
        near = NEAR.get(path[-1]) if isinstance(path[-1], str) else None
        anything = st.one_of(scalar(), strings(MISC, REFS, PREDICATES, DURATIONS, LOCALITIES,
                                               TOKENS, PLAINS, WORDS))
        parent[path[-1]] = draw(anything if near is None else st.one_of(near, near, anything))
    return doc


KEYWORDS = ["class", "None", "lambda", "args", "True"]
NEAR: dict[str, st.SearchStrategy[Any]] = {
    "within": st.sampled_from(DURATIONS), "predicate": st.sampled_from(PREDICATES),
    "ref": st.sampled_from(REFS + MISC), "locality": st.sampled_from(LOCALITIES),
    "name": st.sampled_from(WORDS + KEYWORDS + MISC), "node": st.sampled_from(TOKENS),
    "network": st.one_of(st.sampled_from(TOKENS), st.just([]), st.lists(
        st.sampled_from(TOKENS), max_size=2)),
    "capability": st.one_of(st.sampled_from(PLAINS), st.just([]), st.lists(
        st.sampled_from(PLAINS), max_size=2)),
    "attribute": st.sampled_from(PLAINS), "metric": st.sampled_from(PLAINS),
    "type": st.sampled_from(["bias", "drift", "metric", "deadline", "fn", "data", "classifier",
                             "context", "wait", "x"]),
    "new_items": st.sampled_from(GROWTH + PREDICATES), "battery": st.sampled_from(
        BATTERY + PREDICATES), "charging": st.sampled_from([True, False, None, 0, "yes"]),
    "idle": st.sampled_from([True, False, None, 1]),
    "metered": st.sampled_from([True, False, None, "no"]),
    "kind": st.sampled_from(["data", "model", "Model", ""]),
    "order": st.sampled_from(["newest", "best:accuracy", "best:", "oldest", "best:a b"]),
    "strict": st.sampled_from([True, False, None, 0, "true"]),
    "target": st.sampled_from(WORDS + OK_NAMES), "version": st.sampled_from([1, 1.0, 2, "1"]),
    "data": st.sampled_from(WORDS + OK_NAMES + ["", None]), "bins": BINS, "window": WINDOWS,
    "cooldown": st.sampled_from(DURATIONS), "fallback": st.sampled_from(ENTITIES + [None]),
    "trigger": st.sampled_from(ENTITIES + [None, ""]),
}
"""Replacements near the edges of each field's rule, by the field's key."""


@st.composite
def perturbed(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """``base`` with exactly one keyed field replaced by a value near the edge of its rule (or
    dropped): a document that stands or falls by that one rule."""
    doc = draw(base)
    keyed = [path for path in _leaves(doc) if path and path[-1] in NEAR]
    if not keyed:
        return doc
    path = draw(st.sampled_from(keyed))
    parents = [doc]
    for step in path[:-1]:
        parents.append(parents[-1][step])
    what = draw(st.integers(0, 5))
    if what == 0:
        del parents[-1][path[-1]]
    elif what == 1 and len(path) >= 3 and isinstance(parents[-2], list):  # its entry, twice
        parents[-2].append(copy.deepcopy(parents[-1]))
    else:
        parents[-1][path[-1]] = draw(NEAR[path[-1]])
    return doc


ANNOTATIONS = st.one_of(valid(), perturbed(valid()), perturbed(valid()), mutated(valid()),
                        mutated(mutated(valid())), NOISY, st.just(design_doc()))


def sdk_verdict(doc: Any) -> str | None:
    """None when the validator accepts ``doc``, else its message."""
    try:
        validate(doc)
    except AnnotationError as error:
        return str(error)
    return None


@settings(max_examples=1500, deadline=None)
@given(ANNOTATIONS)
def test_the_schema_and_the_validator_agree(doc: Any) -> None:
    refusal = sdk_verdict(doc)
    if refusal is None:
        assert SCHEMA.is_valid(doc), [e.message for e in SCHEMA.iter_errors(doc)]
    elif SCHEMA.is_valid(doc):
        assert not_stated(refusal), refusal


@pytest.mark.parametrize("side", ["accepted by both", "refused by both",
                                  "refused by a rule the schema cannot state"])
def test_the_generator_reaches_each_side(side: str) -> None:
    """Without this the property could hold because nothing valid (or nothing cross-field)
    was ever generated."""
    def both(doc: Any) -> bool:
        refusal, schema_ok = sdk_verdict(doc), SCHEMA.is_valid(doc)
        if side == "accepted by both":
            return refusal is None and schema_ok and len(doc.get("consumes") or []) >= 1
        if side == "refused by both":
            return refusal is not None and not schema_ok
        return refusal is not None and schema_ok
    find(ANNOTATIONS, both, settings=settings(max_examples=20_000, deadline=None))


CASES = [
    ("the design example", design_doc(), True),
    ("a trailing newline in a duration", {"version": 1, "policies": [
        {"type": "deadline", "within": "2s\n"}]}, False),
    ("an Arabic-Indic digit in a predicate", {"version": 1, "gates": [
        {"type": "bias", "attribute": "age", "predicate": "<\u0663"}]}, False),
    ("a non-ASCII consumed name", {"version": 1, "consumes": [
        {"kind": "data", "ref": "a/b", "name": "\u00e9t\u00e9"}]}, False),
    ("a '..' segment in a ref", {"version": 1, "consumes": [
        {"kind": "data", "ref": "a/../b", "name": "b"}]}, False),
    ("two deadlines", {"version": 1, "policies": [{"type": "deadline", "within": "1s"},
                                                  {"type": "deadline", "within": "2s"}]}, False),
    ("two offline policies", {"version": 1, "policies": [{"type": "offline"},
                                                         {"type": "offline", "node": "t1"}]},
     False),
    ("an offline policy naming a {variable} device", {"version": 1, "policies": [
        {"type": "offline", "node": "{usr}_tablet"}]}, False),
    ("an offline policy with devices and a capability", {"version": 1, "policies": [
        {"type": "offline", "node": ["tablet-1", "t.2"], "capability": "camera"}]}, True),
    ("a drift gate without target over two models", {"version": 1, "consumes": [
        {"kind": "model", "ref": "m/a"}, {"kind": "model", "ref": "m/b"}], "gates": [
        {"type": "drift", "metric": "c", "predicate": "<1"}]}, False),
    ("a null name defaults to the ref's last segment", {"version": 1, "consumes": [
        {"kind": "data", "ref": "{usr}/glucose", "name": None}]}, True),
    ("a selector on a produced model", {"version": 1, "produces": [
        {"kind": "model", "ref": "m", "selector": {"type": "x"}}]}, False),
    ("a keyword as a consumed name", {"version": 1, "consumes": [
        {"kind": "data", "ref": "a/b", "name": "class"}]}, False),
    ("a keyword as a produced name", {"version": 1, "produces": [
        {"kind": "data", "ref": "a/b", "name": "class"}]}, True),
    ("a capability listed twice", {"version": 1, "policies": [
        {"type": "fn", "capability": ["gpu", "gpu"]}]}, False),
    ("an empty list of networks", {"version": 1, "policies": [
        {"type": "data", "network": []}]}, False),
    ("a fn policy with neither node nor capability", {"version": 1, "policies": [
        {"type": "fn", "node": None, "strict": True}]}, False),
    ("a zero duration", {"version": 1, "policies": [{"type": "deadline", "within": "0.0s"}]},
     False),
    ("a '.' segment in a ref", {"version": 1, "produces": [{"kind": "data", "ref": "./x"}]},
     False),
    ("a default name holding a variable", {"version": 1, "produces": [
        {"kind": "data", "ref": "x/{usr}"}]}, False),
    ("an empty selector", {"version": 1, "consumes": [
        {"kind": "model", "name": "m", "selector": {}}]}, False),
    ("a metric gate on the one produced model", {"version": 1, "produces": [
        {"kind": "model", "ref": "m/a"}], "gates": [
        {"type": "metric", "metric": "accuracy", "predicate": "<0.9", "trigger": "retrain"}]},
     True),
    ("a metric gate without target over no produced model", {"version": 1, "produces": [
        {"kind": "data", "ref": "d/a"}], "gates": [
        {"type": "metric", "metric": "accuracy", "predicate": "<0.9"}]}, False),
    ("a measured bias gate", {"version": 1, "consumes": [{"kind": "data", "ref": "d/evaluation"}],
     "produces": [{"kind": "model", "ref": "m/a"}], "gates": [
        {"type": "bias", "attribute": "age", "predicate": "<0.8", "data": "evaluation",
         "bins": [40, 60]}]}, True),
    ("bins without data", {"version": 1, "produces": [{"kind": "model", "ref": "m/a"}],
     "gates": [{"type": "bias", "attribute": "age", "predicate": "<0.8", "bins": [40]}]}, False),
    ("a strict drift gate with a fallback", {"version": 1, "consumes": [
        {"kind": "model", "ref": "m/a"}], "gates": [
        {"type": "drift", "metric": "psi", "predicate": ">0.5", "window": 50, "cooldown": "1m",
         "strict": True, "fallback": "rules"}]}, True),
    ("a fallback on a gate that is not strict", {"version": 1, "consumes": [
        {"kind": "model", "ref": "m/a"}], "gates": [
        {"type": "drift", "metric": "psi", "predicate": ">0.5", "fallback": "rules"}]}, False),
    ("a window of zero rows", {"version": 1, "consumes": [{"kind": "model", "ref": "m/a"}],
     "gates": [{"type": "drift", "metric": "psi", "predicate": ">0.5", "window": 0}]}, False),
    ("a window on a metric gate", {"version": 1, "produces": [{"kind": "model", "ref": "m/a"}],
     "gates": [{"type": "metric", "metric": "f1", "predicate": "<1", "window": 5}]}, False),
    ("a trigger name with a space", {"version": 1, "produces": [{"kind": "model", "ref": "m"}],
     "gates": [{"type": "metric", "metric": "f1", "predicate": "<1", "trigger": "a b"}]}, False),
    ("the paper's retraining trigger", {"version": 1, "consumes": [
        {"kind": "data", "ref": "{usr}/glucose"}], "gates": [
        {"type": "data", "ref": "{usr}/glucose", "new_items": ">=100"}], "policies": [
        {"type": "context", "charging": True, "network": "home_{usr}", "strict": True},
        {"type": "wait", "within": "6h"}]}, True),
    ("a context policy with no condition", {"version": 1, "policies": [
        {"type": "context", "battery": None, "strict": True}]}, False),
    ("a data policy with a null network", {"version": 1, "policies": [
        {"type": "data", "network": None}]}, False),
    ("two waits", {"version": 1, "policies": [{"type": "wait", "within": "1h"},
                                              {"type": "wait", "within": "2h"}]}, False),
    ("a wait with strict", {"version": 1, "policies": [
        {"type": "wait", "within": "1h", "strict": True}]}, False),
    ("a data gate without new_items", {"version": 1, "consumes": [
        {"kind": "data", "ref": "u/g"}], "gates": [{"type": "data", "ref": "u/g"}]}, False),
]


@pytest.mark.parametrize(("doc", "valid"), [pytest.param(d, v, id=i) for i, d, v in CASES])
def test_chosen_cases(doc: Any, valid: bool) -> None:
    assert (sdk_verdict(doc) is None, SCHEMA.is_valid(doc)) == (valid, valid)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_the_published_file_is_what_the_command_writes(tmp_path: Path) -> None:
    assert json.loads(PUBLISHED.read_text()) == json_schema()
    out = tmp_path / "schema.json"
    done = subprocess.run([str(Path(sys.executable).with_name("edgewhisk")), "action", "schema",
                           "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == PUBLISHED.read_text()
