"""Why an activation ran where it did: the decision taken apart, after the fact.

Why after the decision and not inside it: ``Engine.place`` is one ``argmax`` over an entry's
cached totals (10-20 µs at 12,583 invokers) and must not pay for explanations nobody reads.
Right after it, in the same step (nothing has changed the state), the entry still holds
everything: the winner's and the runner-up's totals, and each soft term can be re-scored for
those two rows alone (the static ones on a one-row view, the dynamic ones with the per-row
forms the cache already made). Exclusions are counted the way an ``Unschedulable`` counts
them (each invoker under the first hard constraint that excludes it).

The explanation is small (a few hundred bytes) so that it fits in the activation record:

    {"invoker": "edge-1", "score": 212.5, "candidates": 3, "of": 5,
     "terms": [{"plugin": "Proximity", "score": 100.0, "runnerUp": 12.5}, ...],
     "runnerUp": {"invoker": "cloud-0", "score": 125.0},
     "excluded": {"without capability gpu": 2}}

``terms`` are the soft terms whose weighted scores differ between the two, the most decisive
first (all of them when there is no runner-up); each score is weight x a 0-100 share, as the
engine adds them, so the winner's terms add up to its ``score``.

An explanation is a function of a dozen numbers (the two rows' totals and terms, the counts),
and a busy action's decisions repeat them: an entry keeps the explanations it built by those
numbers (``Entry.said``, at most ``SAID`` of them), and a repeat is one dictionary lookup
instead of the sorting, rounding and building (issue 17: explanations under 5 % of an
invoke's CPU). Records share such a dict; nothing changes a record's annotations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .cache import _position
from .entry import Entry
from .plugin import Context, raw_value
from .state import ClusterState, Vector, View

_NEG_INF = float("-inf")

TERMS = 4
"""At most this many terms are kept: the most decisive ones."""
SAID = 8
"""At most this many explanations are kept per entry (all are forgotten when it is full)."""


def explain_choice(state: ClusterState, entry: Entry, chosen: str,
                   excluded: Callable[[], Mapping[str, int]]) -> dict[str, Any] | None:
    """The explanation of choosing ``chosen`` from ``entry`` (``Engine.why``, right after the
    decision); None when the row is gone. ``excluded`` counts the exclusions."""
    row = state.index.get(chosen)
    if row is None:
        return None
    at = _position(entry, row)
    if at < 0:
        return None
    total = entry.total
    candidates, second = _candidates(total, at)
    mine = terms(state, entry, row, at)
    other: tuple[str | None, float, dict[str, float]] | None = None
    if second is not None:
        other_row = second if entry.rows is None else int(entry.rows.item(second))
        other = (state.ids[other_row], float(total.item(second)),
                 terms(state, entry, other_row, second))
    counts = excluded() if candidates < state.count else None  # else no pass over the cluster
    key = (chosen, float(total.item(at)), candidates, state.count, tuple(mine.items()),
           None if other is None else (other[0], other[1], tuple(other[2].items())),
           None if counts is None else tuple(counts.items()))  # {} is no key: tuple it too
    said = entry.said.get(key)
    if said is None:
        if len(entry.said) >= SAID:
            entry.said.clear()
        said = entry.said[key] = _explanation(key[1], key[0], candidates, state.count, mine,
                                              other, counts)
    return said


def _explanation(score: float, chosen: str, candidates: int, of: int, mine: dict[str, float],
                 other: tuple[str | None, float, dict[str, float]] | None,
                 counts: Mapping[str, int] | None) -> dict[str, Any]:
    """The explanation's document (the module's docstring shows one) from its numbers."""
    out: dict[str, Any] = {"invoker": chosen, "score": round(score, 2),
                           "candidates": candidates, "of": of}
    if other is not None:
        theirs = other[2]
        out["runnerUp"] = {"invoker": other[0], "score": round(other[1], 2)}
        gaps = {name: mine[name] - theirs.get(name, 0.0) for name in mine}
        diff = sorted(gaps, key=lambda name: -abs(gaps[name]))
        out["terms"] = [{"plugin": name, "score": round(mine[name], 2),
                         "runnerUp": round(theirs.get(name, 0.0), 2)}
                        for name in diff[:TERMS] if round(gaps[name], 2)]
    else:
        ranked = sorted(mine, key=lambda name: -abs(mine[name]))
        out["terms"] = [{"plugin": name, "score": round(mine[name], 2)}
                        for name in ranked[:TERMS]]
    if counts is not None:
        out["excluded"] = dict(counts)
    return out


def _candidates(total: Vector, at: int) -> tuple[int, int | None]:
    """How many positions are candidates, and the best one other than ``at`` (None: ``at``
    is the only one). One invoker (an edge box, the benchmark's noop) needs no numpy: the
    chosen position is a candidate by definition."""
    if total.size == 1:
        return 1, None
    candidates = int(np.count_nonzero(total > _NEG_INF))
    if candidates < 2:
        return candidates, None
    rest = total.copy()
    rest[at] = _NEG_INF
    return candidates, int(rest.argmax())


def terms(state: ClusterState, entry: Entry, row: int, at: int) -> dict[str, float]:
    """Each soft term's weighted score (weight x 0-100) for state ``row`` (``at`` in the
    entry), by plugin name; together they are the row's total."""
    out: dict[str, float] = {}
    if entry.scores:  # a one-row view costs more than the dynamic terms: only when needed
        out.update(_static_terms(state, entry, row))
    for span in entry.spans:  # static, min-max over the candidates
        share = 0.0 if span.hi <= span.lo else \
            (float(span.raw.item(at)) - span.lo) * 100 / (span.hi - span.lo)
        name = span.plugin.NAME
        out[name] = out.get(name, 0.0) + span.constraint.weight * share
    for step in entry.steps:  # dynamic, with the cache's per-row forms
        if not step.hard:
            name = step.plugin.NAME
            out[name] = out.get(name, 0.0) + (float(step.row(row, at)) - step.lo) * step.scale
    return out


def _static_terms(state: ClusterState, entry: Entry, row: int) -> dict[str, float]:
    """The static terms with known bounds for ``row``, scored on a one-row view once per
    row and kept on the entry until one of its rows is restated (``Entry.restated``)."""
    kept = entry.why_static
    if kept is None or kept[0] != entry.restated:
        kept = entry.why_static = (entry.restated, {})
    hit = kept[1].get(row)
    if hit is not None:
        return hit
    one = View(state, np.array([row], np.intp))
    out: dict[str, float] = {}
    for plugin, k in entry.scores:
        lo, hi = plugin.BOUNDS or (0.0, 1.0)
        value = raw_value(plugin.score(Context(one, k.args, entry.action)), plugin.BOUNDS)
        out[plugin.NAME] = out.get(plugin.NAME, 0.0) + k.weight * (value - lo) * 100 / (hi - lo)
    kept[1][row] = out
    return out
