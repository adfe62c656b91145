"""Model selectors: ``{type, trained_on, input, metrics {metric: predicate}, order}`` -> ONE
artifact version, or a ``NoMatch`` value naming the closest candidates and what each failed.

Why a value and not an exception: not finding a model is an expected outcome the caller words
(the API answers 404 with the candidates; the runtime will fall back or fail the activation).

Semantics:
- ``type``, ``trained_on``, ``input`` compare with the version's ``metadata`` for equality;
- ``metrics`` predicates (``terms.parse_predicate``) hold on ``metrics[name]``; a dotted name
  reaches into a nested metric (``bias.gender``); a missing metric fails its predicate;
- a version its gates held back (``status`` ``gated``) never matches: it fails as such;
- ``order``: ``newest`` (default; latest ``created``, then highest version) or
  ``best:<metric>``: the highest value, except for metrics that measure harm (``bias``,
  ``drift``, ``loss``, ``error``... see ``LOWER_IS_BETTER``), where the lowest wins; versions
  without the metric come last; ties go to the newest.

Speed (bench/artifacts.py): ``SelectorIndex`` buckets versions by (namespace, type,
trained_on) and keeps, per bucket and order (newest, or ``best:`` a metric), a sorted view
built once per change of the bucket; a resolution walks the view (several buckets merged
lazily) and stops at the first version that passes, so the usual case does not look at
every version. The no-match path must
look at all of the namespace's versions to rank candidates, which is fine for an error.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edgewhisk.gates import reported_value
from edgewhisk.schema import validate_artifact
from edgewhisk.terms import PREDICATE_OPERATORS, parse_predicate

Doc = dict[str, Any]

EQUALITY_KEYS = ("type", "trained_on", "input")
GATED = "gated"
"""The ``status`` of a version its gates held back (written by the registry, which imports
this module)."""
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
    """``metrics[metric]``, following dots into nested objects; None unless a number (the
    same reading as a gate's reported value)."""
    return reported_value(doc.get("metrics"), metric)


HELD_BACK = "held back by its gates (status gated)"


def failures(selector: Selector, doc: Mapping[str, Any]) -> list[str]:
    """Each predicate ``doc`` fails, worded for a person (empty: it matches)."""
    failed: list[str] = [HELD_BACK] if doc.get("status") == GATED else []
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


def failed_count(selector: Selector, doc: Mapping[str, Any]) -> int:
    """``len(failures(selector, doc))`` without wording them (the ranking's hot loop)."""
    meta = doc.get("metadata") or {}
    count = int(doc.get("status") == GATED)
    count += sum(1 for key, wanted in selector.equals if meta.get(key) != wanted)
    for metric, op, bound, _ in selector.metrics:
        value = metric_value(doc, metric)
        if value is None or not PREDICATE_OPERATORS[op](value, bound):
            count += 1
    return count


def closest(selector: Selector, parts: Iterable[tuple[int, Iterable[Doc]]], considered: int,
            limit: int = CANDIDATES) -> NoMatch:
    """Rank docs by how many predicates they fail (fewest first, then preference).

    ``parts`` are groups of docs each with a lower bound of their failures, in ascending
    order of the bound: once ``limit`` candidates fail fewer than the next group's bound, no
    later doc can displace them and the rest is skipped. Only the winners are worded.
    """
    groups: dict[int, list[Doc]] = {}
    for bound, docs in parts:
        if _worst_kept(groups, limit) < bound:
            break
        for doc in docs:
            groups.setdefault(failed_count(selector, doc), []).append(doc)
    key = _best_key(selector.best) if selector.best else _newest_key
    chosen: list[Doc] = []
    for count in sorted(groups):
        chosen += heapq.nlargest(limit - len(chosen), groups[count], key=key)
        if len(chosen) >= limit:
            break
    return NoMatch(selector, considered, [Candidate(doc, failures(selector, doc))
                                          for doc in chosen])


def _worst_kept(groups: Mapping[int, list[Doc]], limit: int) -> float:
    """The failure count of the ``limit``-th best doc so far (infinite until there are so many)."""
    seen = 0
    for count in sorted(groups):
        seen += len(groups[count])
        if seen >= limit:
            return count
    return math.inf


def resolve(selector: Selector, docs: Iterable[Doc]) -> Match | NoMatch:
    """The reference implementation: one pass over ``docs`` (the index must agree with it)."""
    pool = list(docs)
    for doc in order(selector, pool):
        if not failed_count(selector, doc):
            return Match(doc)
    return closest(selector, [(0, pool)], len(pool))


def generation(doc: Mapping[str, Any]) -> int:
    """The generation of a CouchDB ``_rev`` (``3-abc`` -> 3); 0 without one."""
    head = str(doc.get("_rev") or "0").partition("-")[0]
    return int(head) if head.isdigit() else 0


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
        """Add ``doc``, or replace the version of its ``_id`` if ``doc`` is not older (by
        its ``_rev``'s generation, when both carry one)."""
        key = self._bucket_of(doc)
        bucket = self._buckets.setdefault(key, {})
        held = bucket.get(doc["_id"])
        if held is not None and generation(held) > generation(doc):
            return
        bucket[doc["_id"]] = doc
        self._changed(key)

    def discard(self, id: str) -> None:
        """Remove the version ``id`` from whichever bucket holds it (a deletion seen on the
        changes feed carries only its id)."""
        for key, bucket in self._buckets.items():
            if bucket.pop(id, None) is not None:
                self._changed(key)
                return

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
        # Each bucket's view is sorted once per change; several buckets merge lazily, so the
        # walk stops at the first passing version without sorting the union.
        sort_key = _best_key(selector.best) if selector.best else _newest_key
        walk: Iterable[Doc] = heapq.merge(*(self._sorted(k, selector.best) for k in keys),
                                          key=sort_key, reverse=True)
        for doc in walk:
            if not failed_count(selector, doc):
                return Match(doc)
        return self._closest(ns, selector)

    def _closest(self, ns: str, selector: Selector) -> NoMatch:
        """Buckets whose (type, trained_on) fail fewer of the selector's equalities first."""
        wanted = dict(selector.equals)

        def bound(key: tuple[str, Any, Any]) -> int:
            return (("type" in wanted and key[1] != wanted["type"])
                    + ("trained_on" in wanted and key[2] != wanted["trained_on"]))

        keys = sorted((k for k in self._buckets if k[0] == ns), key=bound)
        return closest(selector, ((bound(k), self._buckets[k].values()) for k in keys),
                       sum(len(self._buckets[k]) for k in keys))
