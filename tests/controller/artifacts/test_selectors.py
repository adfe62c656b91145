"""Model selectors: a table of selectors over a small set of versions, each resolved by the
reference scan (``resolve``) and by the index (``SelectorIndex``), which must agree; the
closest-candidates answer when nothing matches; malformed selectors; and the index against
the reference on a seeded random population."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from edgewhisk import AnnotationError
from edgewhisk_controller.artifacts.selectors import (
    Match,
    NoMatch,
    Selector,
    SelectorIndex,
    parse,
    resolve,
)


def version(name: str, v: int, created: int, type: str, trained_on: str,
            ns: str = "guest", input: str | None = None, **metrics: Any) -> dict[str, Any]:
    meta = {"type": type, "trained_on": trained_on}
    if input:
        meta["input"] = input
    return {"_id": f"{ns}/{name}@{v}", "namespace": ns, "name": name, "version": v,
            "kind": "model", "created": created, "metadata": meta, "metrics": metrics}


VERSIONS = [
    version("base", 1, 1, "classifier", "glucose", accuracy=0.7),
    version("base", 2, 2, "classifier", "glucose", accuracy=0.85, robustness=0.6,
            bias={"gender": 0.1}),
    version("base", 3, 3, "classifier", "glucose", accuracy=0.82, bias={"gender": 0.05}),
    version("other", 1, 4, "regressor", "glucose", accuracy=0.95),
    version("heart", 1, 5, "classifier", "heart", accuracy=0.99),
    version("plain", 1, 6, "classifier", "glucose", input="timeseries"),
    version("foreign", 1, 7, "classifier", "glucose", ns="other", accuracy=1.0),
]

Resolver = Callable[[Selector], Match | NoMatch]


def by_scan(selector: Selector) -> Match | NoMatch:
    return resolve(selector, [d for d in VERSIONS if d["namespace"] == "guest"])


def by_index(selector: Selector) -> Match | NoMatch:
    index = SelectorIndex()
    for doc in VERSIONS:
        index.add(doc)
    return index.resolve("guest", selector)


@pytest.fixture(params=[by_scan, by_index], ids=["reference scan", "index"])
def resolver(request: pytest.FixtureRequest) -> Resolver:
    return request.param  # type: ignore[no-any-return]


GLUCOSE = {"type": "classifier", "trained_on": "glucose"}


@pytest.mark.parametrize("selector, chosen", [
    pytest.param(GLUCOSE, "plain@1", id="without an order the newest matching version wins"),
    pytest.param({**GLUCOSE, "metrics": {"accuracy": ">=0.8"}}, "base@3",
                 id="the newest version passing an accuracy predicate"),
    pytest.param({**GLUCOSE, "order": "best:accuracy"}, "base@2",
                 id="best by accuracy is the highest accuracy"),
    pytest.param({**GLUCOSE, "order": "best:bias.gender"}, "base@3",
                 id="best by a bias is the lowest bias, versions without it last"),
    pytest.param({**GLUCOSE, "metrics": {"bias.gender": "<0.08"}}, "base@3",
                 id="a dotted metric reaches into a nested metric"),
    pytest.param({"input": "timeseries"}, "plain@1", id="input compares with the metadata"),
    pytest.param({"metrics": {"accuracy": ">=0.9"}}, "heart@1",
                 id="without type and trained_on every bucket of the namespace competes"),
    pytest.param({"metrics": {"accuracy": ">=0.9"}, "order": "best:accuracy"}, "heart@1",
                 id="best across buckets"),
    pytest.param({"type": "regressor"}, "other@1", id="a type alone"),
    pytest.param({**GLUCOSE, "metrics": {"accuracy": ">0.8", "robustness": ">=0.5"}}, "base@2",
                 id="every predicate must hold"),
])
def test_a_selector_resolves_to_one_version(resolver: Resolver, selector: dict[str, Any],
                                            chosen: str) -> None:
    outcome = resolver(parse(selector))
    assert isinstance(outcome, Match), outcome
    assert f"{outcome.doc['name']}@{outcome.doc['version']}" == chosen


def candidates(outcome: Match | NoMatch) -> list[dict[str, Any]]:
    assert isinstance(outcome, NoMatch), outcome
    return [c.describe() for c in outcome.candidates]


def test_no_match_lists_the_closest_versions_fewest_failures_first(resolver: Resolver) -> None:
    selector = parse({**GLUCOSE, "metrics": {"accuracy": ">=0.9", "robustness": ">=0.5"}})
    outcome = resolver(selector)
    assert candidates(outcome) == [
        {"artifact": "base@2", "failed": ["accuracy 0.85 fails >=0.9"]},
        {"artifact": "plain@1", "failed": ["accuracy is missing (wanted >=0.9)",
                                           "robustness is missing (wanted >=0.5)"]},
        {"artifact": "heart@1", "failed": ["trained_on is 'heart', not 'glucose'",
                                           "robustness is missing (wanted >=0.5)"]},
        {"artifact": "other@1", "failed": ["type is 'regressor', not 'classifier'",
                                           "robustness is missing (wanted >=0.5)"]},
        {"artifact": "base@3", "failed": ["accuracy 0.82 fails >=0.9",
                                          "robustness is missing (wanted >=0.5)"]},
    ]
    assert isinstance(outcome, NoMatch) and outcome.considered == 6
    message = outcome.message("guest")
    assert message.startswith("no model in namespace 'guest' matches the selector")
    assert "closest: base@2: accuracy 0.85 fails >=0.9; plain@1:" in message


def test_an_unknown_type_still_names_the_newest_versions_as_candidates(
        resolver: Resolver) -> None:
    found = candidates(resolver(parse({"type": "detector"})))
    assert [c["artifact"] for c in found] == ["plain@1", "heart@1", "other@1", "base@3", "base@2"]
    assert found[0]["failed"] == ["type is 'classifier', not 'detector'"]


def test_another_namespaces_versions_are_never_chosen_nor_candidates() -> None:
    index = SelectorIndex()
    for doc in VERSIONS:
        index.add(doc)
    outcome = index.resolve("guest", parse({"metrics": {"accuracy": ">=1.0"}}))
    assert "foreign@1" not in [c["artifact"] for c in candidates(outcome)]
    empty = index.resolve("nobody", parse(GLUCOSE))
    assert isinstance(empty, NoMatch) and empty.considered == 0
    assert empty.message("nobody").endswith("(0 version(s) considered).")


def test_the_index_follows_adds_and_removes() -> None:
    index = SelectorIndex()
    for doc in VERSIONS:
        index.add(doc)
    index.add(VERSIONS[5])  # the same version twice is kept once
    assert len(index) == len(VERSIONS)
    index.remove(VERSIONS[5])
    outcome = index.resolve("guest", parse(GLUCOSE))
    assert isinstance(outcome, Match) and outcome.doc["_id"] == "guest/base@3"
    newer = version("base", 4, 8, "classifier", "glucose", accuracy=0.5)
    index.add(newer)
    outcome = index.resolve("guest", parse(GLUCOSE))
    assert isinstance(outcome, Match) and outcome.doc is newer


@pytest.mark.parametrize("selector, path", [
    pytest.param({}, "selector.selector", id="an empty selector"),
    pytest.param({"order": "worst"}, "selector.selector.order", id="an unknown order"),
    pytest.param({"metrics": {"accuracy": "about 0.8"}}, "selector.selector.metrics.accuracy",
                 id="a predicate without an operator"),
    pytest.param({"colour": "red"}, "selector.selector", id="an unknown key"),
    pytest.param(["classifier"], "selector.selector", id="not an object"),
])
def test_a_malformed_selector_is_refused_with_the_sdks_error_path(selector: Any,
                                                                  path: str) -> None:
    with pytest.raises(AnnotationError) as refused:
        parse(selector)
    assert refused.value.path.startswith(path)


def test_the_index_agrees_with_the_reference_on_a_random_population() -> None:
    rng = random.Random(6)
    types, sets = ["classifier", "regressor"], ["glucose", "heart", "sleep"]
    docs = [version(f"m{rng.randrange(20)}", i, rng.randrange(1000), rng.choice(types),
                    rng.choice(sets), accuracy=round(rng.random(), 2),
                    bias={"age": round(rng.random(), 2)})
            for i in range(1, 600)]
    index = SelectorIndex()
    for doc in docs:
        index.add(doc)
    for _ in range(200):
        raw: dict[str, Any] = {"metrics": {"accuracy": f">={rng.random():.2f}"}}
        if rng.random() < 0.7:
            raw["type"] = rng.choice(types)
        if rng.random() < 0.7:
            raw["trained_on"] = rng.choice([*sets, "unknown"])
        raw["order"] = rng.choice(["newest", "best:accuracy", "best:bias.age"])
        selector = parse(raw)
        expected, actual = resolve(selector, docs), index.resolve("guest", selector)
        assert type(actual) is type(expected), raw
        if isinstance(expected, Match):
            assert isinstance(actual, Match) and actual.doc is expected.doc, raw
        else:
            assert candidates(actual) == candidates(expected), raw
