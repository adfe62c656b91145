"""Model selectors: ``{type, trained_on, input, metrics {metric: predicate}, order}`` -> ONE
artifact version, or a ``NoMatch`` value naming the closest candidates and what each failed.

Why a value and not an exception: not finding a model is an expected outcome the caller words
(the API answers 404 with the candidates; the runtime will fall back or fail the activation).

Semantics:
- ``type``, ``trained_on``, ``input`` compare with the version's ``metadata`` for equality;
- ``metrics`` predicates (``terms.parse_predicate``) hold on ``metrics[name]``; a dotted name
  reaches into a nested metric (``bias.gender``); a missing metric fails its predicate;
- ``order``: ``newest`` (default; latest ``created``, then highest version) or
  ``best:<metric>``: the highest value, except for metrics that measure harm (``bias``,
  ``drift``, ``loss``, ``error``... see ``LOWER_IS_BETTER``), where the lowest wins; versions
  without the metric come last; ties go to the newest.

Speed (bench/artifacts.py): ``SelectorIndex`` buckets versions by (namespace, type,
trained_on) and keeps each bucket sorted newest first, and per ``best:`` metric a sorted view
built once per change of the bucket; a resolution walks the order and stops at the first
version that passes, so the usual case does not look at every version. The no-match path must
look at all of the namespace's versions to rank candidates, which is fine for an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edgewhisk.schema import validate_artifact
from edgewhisk.terms import PREDICATE_OPERATORS, parse_predicate

Doc = dict[str, Any]

EQUALITY_KEYS = ("type", "trained_on", "input")
LOWER_IS_BETTER = ("bias", "drift", "loss", "error", "latency", "mse", "mae", "rmse")
CANDIDATES = 5


@dataclass(frozen=True)
class Selector:
    """A validated selector (``parse`` builds it; ``raw`` is the normalised dict)."""

    raw: dict[str, Any]
    equals: tuple[tuple[str, str], ...]
    metrics: tuple[tuple[str, str, float, str], ...]  # (metric, op, bound, text)
    order: str = "newest"

    @property
    def best(self) -> str | None:
        return self.order[len("best:"):] if self.order.startswith("best:") else None


def parse(raw: Any) -> Selector:
    """Validate with the SDK's own grammar (``AnnotationError`` with a path when malformed)."""
    entry = validate_artifact("consumes", {"kind": "model", "name": "model", "selector": raw},
                              "selector")
    norm = entry["selector"]
    metrics = tuple((metric, *parse_predicate(text), text)
                    for metric, text in norm.get("metrics", {}).items())
    return Selector(norm, tuple((k, norm[k]) for k in EQUALITY_KEYS if k in norm),
                    metrics, norm.get("order", "newest"))


def metric_value(doc: Mapping[str, Any], metric: str) -> float | None:
    """``metrics[metric]``, following dots into nested objects; None unless a number."""
    value: Any = doc.get("metrics") or {}
    for part in metric.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def failures(selector: Selector, doc: Mapping[str, Any]) -> list[str]:
    """Each predicate ``doc`` fails, worded for a person (empty: it matches)."""
    failed: list[str] = []
    meta = doc.get("metadata") or {}
    for key, wanted in selector.equals:
        if meta.get(key) != wanted:
            failed.append(f"{key} is {meta.get(key)!r}, not {wanted!r}")
    for metric, op, bound, text in selector.metrics:
        value = metric_value(doc, metric)
        if value is None:
            failed.append(f"{metric} is missing (wanted {text})")
        elif not PREDICATE_OPERATORS[op](value, bound):
            failed.append(f"{metric} {value:g} fails {text}")
    return failed


def _newest_key(doc: Mapping[str, Any]) -> tuple[int, int, str]:
    return int(doc.get("created", 0)), int(doc.get("version", 0)), str(doc.get("name", ""))


def _best_key(metric: str) -> Any:
    lower = metric.split(".")[0] in LOWER_IS_BETTER

    def key(doc: Mapping[str, Any]) -> tuple[int, float, tuple[int, int, str]]:
        value = metric_value(doc, metric)
        if value is None:
            return (0, 0.0, _newest_key(doc))
        return (1, -value if lower else value, _newest_key(doc))

    return key


@dataclass(frozen=True)
class Match:
    doc: Doc


@dataclass(frozen=True)
class Candidate:
    doc: Doc
    failed: list[str]

    def describe(self) -> dict[str, Any]:
        return {"artifact": f"{self.doc['name']}@{self.doc['version']}", "failed": self.failed}


@dataclass(frozen=True)
class NoMatch:
    selector: Selector
    considered: int
    candidates: list[Candidate] = field(default_factory=list)

    def message(self, ns: str) -> str:
        wanted = json.dumps(self.selector.raw)
        head = (f"no model in namespace {ns!r} matches the selector {wanted} "
                f"({self.considered} version(s) considered)")
        if not self.candidates:
            return head + "."
        closest = "; ".join(f"{c.doc['name']}@{c.doc['version']}: {', '.join(c.failed)}"
                            for c in self.candidates)
        return f"{head}; closest: {closest}."


def order(selector: Selector, docs: Iterable[Doc]) -> list[Doc]:
    """``docs`` in the selector's order of preference (first = chosen if it passes)."""
    key = _best_key(selector.best) if selector.best else _newest_key
    return sorted(docs, key=key, reverse=True)


def closest(selector: Selector, docs: Iterable[Doc], limit: int = CANDIDATES) -> NoMatch:
    """Rank every doc by how many predicates it fails (fewest first, then preference)."""
    ranked = [(failures(selector, doc), doc) for doc in docs]
    preference = {id(doc): i for i, doc in enumerate(order(selector, (d for _, d in ranked)))}
    ranked.sort(key=lambda pair: (len(pair[0]), preference[id(pair[1])]))
    return NoMatch(selector, len(ranked), [Candidate(doc, failed) for failed, doc in
                                           ranked[:limit]])


def resolve(selector: Selector, docs: Iterable[Doc]) -> Match | NoMatch:
    """The reference implementation: one pass over ``docs`` (the index must agree with it)."""
    pool = list(docs)
    for doc in order(selector, pool):
        if not failures(selector, doc):
            return Match(doc)
    return closest(selector, pool)


class SelectorIndex:
    """Model versions of many namespaces, bucketed for fast resolution (see module doc).

    Adding a version twice (same ``_id``) keeps one copy, so a loader and a writer racing on
    the same version cannot duplicate it.
    """

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, Any, Any], dict[str, Doc]] = {}
        self._views: dict[tuple[tuple[str, Any, Any], str | None], list[Doc]] = {}

    @staticmethod
    def _bucket_of(doc: Mapping[str, Any]) -> tuple[str, Any, Any]:
        meta = doc.get("metadata") or {}
        return str(doc["namespace"]), meta.get("type"), meta.get("trained_on")

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._buckets.values())

    def _changed(self, key: tuple[str, Any, Any]) -> None:
        for cached in [k for k in self._views if k[0] == key]:
            del self._views[cached]

    def add(self, doc: Doc) -> None:
        key = self._bucket_of(doc)
        self._buckets.setdefault(key, {})[doc["_id"]] = doc
        self._changed(key)

    def remove(self, doc: Mapping[str, Any]) -> None:
        key = self._bucket_of(doc)
        if self._buckets.get(key, {}).pop(doc["_id"], None) is not None:
            self._changed(key)

    def _sorted(self, key: tuple[str, Any, Any], best: str | None) -> list[Doc]:
        """The bucket in preference order, sorted once per change (many adds, one sort)."""
        view = self._views.get((key, best))
        if view is None:
            sort_key = _best_key(best) if best else _newest_key
            view = sorted(self._buckets.get(key, {}).values(), key=sort_key, reverse=True)
            self._views[(key, best)] = view
        return view

    def resolve(self, ns: str, selector: Selector) -> Match | NoMatch:
        wanted = dict(selector.equals)
        keys = [k for k in self._buckets if k[0] == ns
                and ("type" not in wanted or k[1] == wanted["type"])
                and ("trained_on" not in wanted or k[2] == wanted["trained_on"])]
        walk: Iterable[Doc]
        if len(keys) == 1:
            walk = self._sorted(keys[0], selector.best)
        else:
            walk = order(selector, (d for k in keys for d in self._buckets[k].values()))
        for doc in walk:
            if not failures(selector, doc):
                return Match(doc)
        return closest(selector, (d for k in self._buckets if k[0] == ns
                                  for d in self._buckets[k].values()))
