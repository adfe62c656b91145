"""The one validator: every rejection names its field path; valid documents normalise."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from edgewhisk import AnnotationError, invoker_resources, validate, variables

from .design_example import design_doc

Doc = dict[str, Any]


def mutate(change: Callable[[Doc], object]) -> Doc:
    doc = design_doc()
    change(doc)
    return doc


def _set(doc: Doc, path: tuple[Any, ...], value: Any) -> None:
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def setting(*path_and_value: Any) -> Callable[[Doc], None]:
    *path, value = path_and_value
    return lambda doc: _set(doc, tuple(path), copy.deepcopy(value))


def deleting(*path: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def appending(section: str, entry: Doc) -> Callable[[Doc], None]:
    return lambda doc: doc[section].append(copy.deepcopy(entry))


REJECTIONS = [
    # (sentence id, change to the example document, expected path, words of the reason)
    ("an unknown top-level key is rejected", setting("owner", "me"), "owner", "unknown key"),
    ("a missing version is rejected", deleting("version"), "version", "missing"),
    ("version 2 is not supported", setting("version", 2), "version", "not supported"),
    ("version true is not the number 1", setting("version", True), "version", "not supported"),
    ("a section that is not a list is rejected", setting("gates", {}), "gates", "a list"),
    ("an artifact that is not an object is rejected", setting("consumes", 0, "x"), "consumes[0]",
     "an object"),
    ("an unknown artifact key is rejected", setting("consumes", 1, "size", 3), "consumes[1].size",
     "unknown key"),
    ("a bad kind is rejected", setting("consumes", 1, "kind", "dataset"), "consumes[1].kind",
     "'data' or 'model'"),
    ("a missing kind is rejected", deleting("produces", 0, "kind"), "produces[0].kind", "missing"),
    ("a locality outside local|cloud|network:NAME is rejected",
     setting("consumes", 1, "locality", "edge"), "consumes[1].locality", "network:NAME"),
    ("a network locality without a name is rejected",
     setting("produces", 0, "locality", "network:"), "produces[0].locality", "network:NAME"),
    ("a locality that is not a string is rejected", setting("consumes", 1, "locality", 1),
     "consumes[1].locality", "a string"),
    ("consumed data without a ref is rejected", deleting("consumes", 1, "ref"),
     "consumes[1].ref", "missing"),
    ("a ref with an empty segment is rejected", setting("consumes", 1, "ref", "a//b"),
     "consumes[1].ref", "not a ref"),
    ("a ref climbing out with .. is rejected", setting("consumes", 1, "ref", "../etc"),
     "consumes[1].ref", "not a ref"),
    ("a ref with a stray brace is rejected", setting("consumes", 1, "ref", "{usr/glucose"),
     "consumes[1].ref", "stray brace"),
    ("a selector-only model without a name is rejected", deleting("consumes", 0, "name"),
     "consumes[0].name", "needs a name"),
    ("a selector on data is rejected", setting("consumes", 1, "selector", {"type": "x"}),
     "consumes[1].selector", "only consumed models"),
    ("a selector on a produced model is rejected",
     setting("produces", 0, "selector", {"type": "x"}),
     "produces[0].selector", "only consumed models"),
    ("an unknown selector key is rejected", setting("consumes", 0, "selector", "size", "big"),
     "consumes[0].selector.size", "unknown key"),
    ("an empty selector is rejected", setting("consumes", 0, "selector", {}),
     "consumes[0].selector", "empty selector"),
    ("a selector metric with a bad predicate is rejected",
     setting("consumes", 0, "selector", "metrics", "accuracy", "=>0.8"),
     "consumes[0].selector.metrics.accuracy", "not a predicate"),
    ("empty selector metrics are rejected", setting("consumes", 0, "selector", "metrics", {}),
     "consumes[0].selector.metrics", "empty"),
    ("a selector order other than newest or best:<metric> is rejected",
     setting("consumes", 0, "selector", "order", "oldest"), "consumes[0].selector.order",
     "'newest' or 'best:<metric>'"),
    ("a selector order best: without a metric is rejected",
     setting("consumes", 0, "selector", "order", "best:"), "consumes[0].selector.order",
     "'newest' or 'best:<metric>'"),
    ("a selector type that is not a string is rejected",
     setting("consumes", 0, "selector", "type", 3), "consumes[0].selector.type", "a string"),
    ("a consumed name that is not an identifier is rejected",
     setting("consumes", 1, "name", "my-readings"), "consumes[1].name", "Python identifier"),
    ("a consumed name 'args' is rejected (main's first argument)",
     setting("consumes", 1, "name", "args"), "consumes[1].name", "'args'"),
    ("a consumed default name that is not an identifier is rejected",
     setting("consumes", 1, {"kind": "data", "ref": "{usr}/glucose-data"}), "consumes[1].name",
     "give name='glucose_data'"),
    ("a default name that would be a variable is rejected",
     setting("produces", 0, "ref", "models/{usr}"), "produces[0].name", "holds a variable"),
    ("duplicate names within consumes are rejected", setting("consumes", 1, "name", "base"),
     "consumes[1].name", "already the name of consumes[0]"),
    ("duplicate names across consumes and produces are rejected",
     setting("produces", 0, "name", "readings"), "produces[0].name",
     "already the name of consumes[1]"),
    ("an unknown gate type is rejected", setting("gates", 0, "type", "accuracy"),
     "gates[0].type", "bias, drift"),
    ("an unknown gate key is rejected", setting("gates", 1, "metric", "x"), "gates[1].metric",
     "unknown key"),
    ("a gate predicate like <<0.8 is rejected", setting("gates", 1, "predicate", "<<0.8"),
     "gates[1].predicate", "not a predicate"),
    ("a gate predicate without a number is rejected", setting("gates", 0, "predicate", "<"),
     "gates[0].predicate", "not a predicate"),
    ("a bias gate without an attribute is rejected", deleting("gates", 1, "attribute"),
     "gates[1].attribute", "missing"),
    ("a gate target naming no artifact is rejected", setting("gates", 1, "target", "ghost"),
     "gates[1].target", "names no artifact"),
    ("a drift gate without a target and two consumed models is rejected",
     lambda doc: (doc["consumes"].append({"kind": "model", "name": "other", "ref": "m/other"}),
                  doc["gates"][0].pop("target")), "gates[0].target", "exactly one model"),
    ("an unknown policy type is rejected", setting("policies", 0, "type", "cost"),
     "policies[0].type", "deadline, fn, data, context, wait, offline"),
    ("a policy type that is a list is rejected, not a crash", setting("policies", 0, "type", []),
     "policies[0].type", "deadline, fn, data, context, wait, offline"),
    ("an offline policy with a strict key is rejected",
     appending("policies", {"type": "offline", "strict": True}), "policies[3].strict",
     "unknown key"),
    ("an offline device id with a variable is rejected",
     appending("policies", {"type": "offline", "node": "{usr}_device"}), "policies[3].node",
     "no {variables}"),
    ("an empty offline device list is rejected",
     appending("policies", {"type": "offline", "node": []}), "policies[3].node", "empty list"),
    ("an offline device named twice is rejected",
     appending("policies", {"type": "offline", "node": ["t1", "t1"]}), "policies[3].node",
     "twice"),
    ("an offline capability that is a number is rejected",
     appending("policies", {"type": "offline", "capability": [3]}),
     "policies[3].capability[0]", "a string"),
    ("a second offline policy is rejected",
     lambda doc: doc["policies"].extend([{"type": "offline"}, {"type": "offline"}]),
     "policies[4]", "second offline"),
    ("an unknown policy key is rejected", setting("policies", 0, "hard", True),
     "policies[0].hard", "unknown key"),
    ("a duration like 2x is rejected", setting("policies", 0, "within", "2x"),
     "policies[0].within", "not a duration"),
    ("a duration without a unit is rejected", setting("policies", 0, "within", "2"),
     "policies[0].within", "not a duration"),
    ("a zero duration is rejected", setting("policies", 0, "within", "0s"),
     "policies[0].within", "positive"),
    ("a numeric duration is rejected", setting("policies", 0, "within", 2),
     "policies[0].within", "a string"),
    ("a deadline without within is rejected", deleting("policies", 0, "within"),
     "policies[0].within", "missing"),
    ("a second deadline is rejected", appending("policies", {"type": "deadline", "within": "1s"}),
     "policies[3]", "second deadline"),
    ("a strict that is not a boolean is rejected", setting("policies", 2, "strict", "yes"),
     "policies[2].strict", "true or false"),
    ("a fn policy with neither node nor capability is rejected",
     setting("policies", 1, {"type": "fn", "strict": True}), "policies[1]", "node or a capability"),
    ("an empty capability list is rejected", setting("policies", 1, "capability", []),
     "policies[1].capability", "empty list"),
    ("a capability that is not a string is rejected", setting("policies", 1, "capability", [1]),
     "policies[1].capability[0]", "a string"),
    ("an empty network list is rejected", setting("policies", 2, "network", []),
     "policies[2].network", "empty list"),
    ("a data policy without network is rejected", deleting("policies", 2, "network"),
     "policies[2].network", "missing"),
    ("a network named twice is rejected", setting("policies", 2, "network", ["a", "a"]),
     "policies[2].network", "twice"),
    ("a variable in a fn policy bound nowhere is rejected",
     setting("policies", 1, "node", "{dev}_device"), "policies[1].node", "{dev} is bound nowhere"),
    ("a node label with two '=' is rejected", setting("policies", 1, "node", "zone=a=b"),
     "policies[1].node", "zone=a=b"),
    ("a node label without a value is rejected", setting("policies", 1, "node", "zone="),
     "policies[1].node", "zone="),
    ("a variable in a data policy bound nowhere is rejected",
     setting("policies", 2, "network", ["net", "{site}_lan"]), "policies[2].network[1]",
     "{site} is bound nowhere"),
    ("a variable in a locality bound nowhere is rejected",
     setting("consumes", 1, "locality", "network:{site}"), "consumes[1].locality",
     "{site} is bound nowhere"),
    ("a context policy without a condition is rejected",
     setting("policies", 0, {"type": "context", "strict": True}), "policies[0]",
     "needs a condition"),
    ("a battery that is not a predicate is rejected",
     setting("policies", 0, {"type": "context", "battery": "high"}), "policies[0].battery",
     "not a predicate"),
    ("a battery level beyond 1 is rejected",
     setting("policies", 0, {"type": "context", "battery": ">=30"}), "policies[0].battery",
     "level (0..1)"),
    ("a battery compared for equality is rejected",
     setting("policies", 0, {"type": "context", "battery": "==0.5"}), "policies[0].battery",
     "< <= > >="),
    ("a battery that is a number is rejected",
     setting("policies", 0, {"type": "context", "battery": 0.3}), "policies[0].battery",
     "a string"),
    ("charging that is not a boolean is rejected",
     setting("policies", 0, {"type": "context", "charging": "yes"}), "policies[0].charging",
     "true or false"),
    ("idle that is a number is rejected",
     setting("policies", 0, {"type": "context", "idle": 1}), "policies[0].idle",
     "true or false"),
    ("metered that is a string is rejected",
     setting("policies", 0, {"type": "context", "metered": "no"}), "policies[0].metered",
     "true or false"),
    ("an empty context network list is rejected",
     setting("policies", 0, {"type": "context", "network": []}), "policies[0].network",
     "empty list"),
    ("a variable in a context network bound nowhere is rejected",
     setting("policies", 0, {"type": "context", "network": "{site}_lan"}),
     "policies[0].network", "{site} is bound nowhere"),
    ("an unknown context key is rejected",
     setting("policies", 0, {"type": "context", "charging": True, "plugged": True}),
     "policies[0].plugged", "unknown key"),
    ("a data gate without new_items is rejected",
     appending("gates", {"type": "data", "ref": "{usr}/glucose"}), "gates[2].new_items",
     "missing"),
    ("a data gate that fires on fewer items is rejected",
     appending("gates", {"type": "data", "ref": "{usr}/glucose", "new_items": "<100"}),
     "gates[2].new_items", "'>=N' or '>N'"),
    ("a data gate on a fraction of an item is rejected",
     appending("gates", {"type": "data", "ref": "{usr}/glucose", "new_items": ">=0.5"}),
     "gates[2].new_items", "whole number"),
    ("a data gate on data the function does not consume is rejected",
     appending("gates", {"type": "data", "ref": "{usr}/other", "new_items": ">=100"}),
     "gates[2].ref", "no consumed data artifact"),
    ("a data gate takes no predicate",
     appending("gates", {"type": "data", "ref": "{usr}/glucose", "new_items": ">=1",
                         "predicate": "<1"}), "gates[2].predicate", "unknown key"),
    ("a wait without within is rejected", setting("policies", 0, {"type": "wait"}),
     "policies[0].within", "missing; e.g. '6h'"),
    ("a wait that is not a duration is rejected",
     setting("policies", 0, {"type": "wait", "within": "forever"}), "policies[0].within",
     "not a duration"),
    ("a wait does not take strict",
     setting("policies", 0, {"type": "wait", "within": "1h", "strict": True}),
     "policies[0].strict", "unknown key"),
    ("a second wait is rejected",
     lambda doc: doc["policies"].extend([{"type": "wait", "within": "1h"},
                                         {"type": "wait", "within": "2h"}]),
     "policies[4]", "second wait"),
]


@pytest.mark.parametrize(("doc", "path", "words"),
                         [pytest.param(mutate(change), path, words, id=sentence)
                          for sentence, change, path, words in REJECTIONS])
def test_the_validator_rejects_with_the_field_path(doc: Doc, path: str, words: str) -> None:
    with pytest.raises(AnnotationError) as caught:
        validate(doc)
    assert caught.value.path == path
    assert words in caught.value.reason
    assert str(caught.value) == f"{path}: {caught.value.reason}"


def test_a_document_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(AnnotationError, match="must be an object"):
        validate([])


ACCEPTED = [
    ("the architecture page's example", design_doc()),
    ("the smallest document", {"version": 1}),
    ("a network locality with a bound variable",
     {"version": 1,
      "consumes": [{"kind": "data", "ref": "{site}/x", "locality": "network:{site}"}]}),
    ("a model by ref with a selector order",
     {"version": 1, "consumes": [{"kind": "model", "ref": "models/base",
                                  "selector": {"order": "best:accuracy"}}]}),
    ("a strict deadline and capability list",
     {"version": 1, "policies": [{"type": "deadline", "within": "1.5m", "strict": True},
                                 {"type": "fn", "capability": ["gpu", "tpu"], "strict": True}]}),
    ("a context policy with every condition, and a wait",
     {"version": 1, "consumes": [{"kind": "data", "ref": "{usr}/glucose"}],
      "policies": [{"type": "context", "battery": ">=0.3", "charging": True,
                    "network": ["home_{usr}", "company"], "idle": True, "metered": False,
                    "strict": True},
                   {"type": "wait", "within": "6h"}]}),
    ("a node written as a label k=v",
     {"version": 1, "policies": [{"type": "fn", "node": "gpu=a100", "strict": True}]}),
]


@pytest.mark.parametrize("doc", [pytest.param(d, id=s) for s, d in ACCEPTED])
def test_validation_is_idempotent(doc: Doc) -> None:
    once = validate(doc)
    assert validate(json.loads(json.dumps(once))) == once


NORMALISED = [
    ("a produced artifact gets its default name",
     {"version": 1, "produces": [{"kind": "data", "ref": "{usr}/features"}]},
     {"version": 1, "consumes": [], "produces": [{"kind": "data", "name": "features",
                                                  "ref": "{usr}/features"}],
      "gates": [], "policies": []}),
    ("a drift gate targets the one consumed model; strict false deadlines drop strict",
     {"version": 1, "consumes": [{"kind": "model", "ref": "m/base"}],
      "gates": [{"type": "drift", "metric": "c", "predicate": "<1"}],
      "policies": [{"type": "deadline", "within": "2s", "strict": False},
                   {"type": "data", "network": "lan"}]},
     {"version": 1, "consumes": [{"kind": "model", "name": "base", "ref": "m/base"}],
      "produces": [], "gates": [{"type": "drift", "metric": "c", "predicate": "<1",
                                 "target": "base"}],
      "policies": [{"type": "deadline", "within": "2s"},
                   {"type": "data", "network": "lan", "strict": False}]}),
    ("a context policy: its conditions in order, strict false, battery trimmed",
     {"version": 1, "policies": [{"metered": False, "type": "context", "battery": " >= 0.3 "},
                                 {"within": "6h", "type": "wait"}]},
     {"version": 1, "consumes": [], "produces": [], "gates": [],
      "policies": [{"type": "context", "battery": ">= 0.3", "metered": False, "strict": False},
                   {"type": "wait", "within": "6h"}]}),
]


@pytest.mark.parametrize(("doc", "expected"),
                         [pytest.param(d, e, id=s) for s, d, e in NORMALISED])
def test_validate_normalises(doc: Doc, expected: Doc) -> None:
    assert json.dumps(validate(doc)) == json.dumps(expected)


def test_validate_does_not_change_its_input() -> None:
    doc = {"version": 1, "consumes": [{"kind": "model", "ref": "m/base"}],
           "gates": [{"type": "drift", "metric": "c", "predicate": "<1"}]}
    before = copy.deepcopy(doc)
    validate(doc)
    assert doc == before


RESOURCES = [
    ("no fn policy gives no tags", [], []),
    ("a soft capability gives no tags", [{"type": "fn", "capability": "gpu"}], []),
    ("a strict capability is a tag", [{"type": "fn", "capability": "gpu", "strict": True}],
     ["gpu"]),
    ("strict capability lists are merged without repeats",
     [{"type": "fn", "capability": ["gpu", "arm64"], "strict": True},
      {"type": "fn", "capability": "gpu", "strict": True}], ["gpu", "arm64"]),
    ("a strict node is not a resource tag", [{"type": "fn", "node": "pi1", "strict": True}], []),
]


@pytest.mark.parametrize(("policies", "tags"),
                         [pytest.param(p, t, id=s) for s, p, t in RESOURCES])
def test_invoker_resources_are_the_hard_capabilities(policies: list[Doc], tags: list[str]) -> None:
    assert invoker_resources({"version": 1, "policies": policies}) == tags


def test_variables_are_those_of_the_refs() -> None:
    doc = {"version": 1, "consumes": [{"kind": "data", "name": "d", "ref": "{usr}/{day}/x"}],
           "produces": [{"kind": "model", "ref": "{usr}/m"}, {"kind": "data", "ref": "all/y"}]}
    assert variables(validate(doc)) == {"usr", "day"}
