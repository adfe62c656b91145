"""Whether the ``network:`` versions an activation consumes can reach it now.

Why: a ``network:N`` artifact's bytes move only between invokers in N, never through the cloud
store (``artifacts/locality.check_move``). When every invoker holding a consumed version is
outside N (a tablet that made the field's photos on ``corp`` and is now on 4g) or offline, no
invoker can stage it, wherever the activation is placed: the transfer would be refused. So the
activation is unschedulable *until a holder is back in N*, and says so before anything runs.

An action with ``policy.wait`` then waits as for any unmet constraint (``deferred.py``,
``pending.py``: durable, listed by ``GET .../activations?status=pending``, cancelled by
``DELETE .../activations/ID``): the answer below is filed under the ``networks`` and
``healthy`` fields, so a holder joining N (its ``context`` report) or coming back places it
again, and its staging then pulls the bytes from that holder. Without ``policy.wait`` it fails
at once with the same reason, instead of failing inside the chosen invoker's staging.

The condition does not depend on which invoker is chosen: the chosen one must be in N too
(``check_placement``), so if it held the version it would itself be a holder in N. The copies
are those the registry listed when the activation was planned: a re-try while it waits sees
holders join or leave N and come and go, not copies made meanwhile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..artifacts import locality as rules
from ..placement import constraints as c
from ..placement.interface import InvokerState, Unschedulable
from ..placement.plugins.artifact_locality import named


def unreachable(consumed: Sequence[Mapping[str, Any]],
                states: Callable[[], Iterable[InvokerState]], *,
                cloud: str = rules.CLOUD) -> Unschedulable | None:
    """None when every consumed ``network:`` version without a ``cloud`` copy has a healthy
    holder in its network; else why not, as placement would say it. ``states`` is asked only
    when such a version is consumed (most activations consume none)."""
    bound = [doc for doc in consumed
             if rules.network_of(str(doc.get("locality", ""))) is not None
             and cloud not in doc.get("copies", [])]
    if not bound:
        return None
    invokers = {s.id: s for s in states()}
    missing = []
    for doc in bound:
        network = rules.network_of(str(doc["locality"]))
        copies = [str(copy) for copy in doc.get("copies", [])]
        holders = [invokers.get(copy) for copy in copies]
        if any(h is not None and h.healthy and network in h.networks for h in holders):
            continue
        held = ", ".join(f"{copy} ({_where(invokers.get(copy))})" for copy in copies) \
            or "no invoker"
        missing.append(f"wait for {rules.label(doc)} (network:{network}) to be sent from a "
                       f"holder in {network}; held by {held}")
    if not missing:
        return None
    total = len(invokers)
    return Unschedulable(total=total, excluded={"; ".join(missing): total},
                         plugins={c.NETWORK_MEMBERSHIP: total, c.HEALTH: total})


def held_only(consumed: Sequence[Mapping[str, Any]],
              decision: Unschedulable) -> Unschedulable:
    """``decision`` with the rule of the ``local`` versions consumed and their holders named
    where it counts the invokers without them (``dispatch/artifacts.rekeyed`` made holding
    them a hard constraint): "without artifact u1/glucose" says what is missing, not that
    its bytes never leave the device that holds it. Each such count is named, whether the
    versions are one constraint or two (one the annotation declared, one rekeyed)."""
    local = {str(doc["name"]): doc for doc in consumed if doc["locality"] == rules.LOCAL}
    detail = dict(decision.detail)
    for said in decision.excluded:  # one constraint the annotation declared, one rekeyed
        names = named(said)
        if names and set(names) <= local.keys():
            detail[said] = "(" + "; ".join(_held(local[name]) for name in names) + ")"
    return dataclasses.replace(decision, detail=detail) if detail != decision.detail \
        else decision


def _held(doc: Mapping[str, Any]) -> str:
    copies = ", ".join(str(copy) for copy in doc.get("copies", [])) or "no invoker"
    return f"{rules.rule(rules.label(doc), rules.LOCAL)}, held by {copies}"


def _where(state: InvokerState | None) -> str:
    if state is None or not state.healthy:
        return "offline"
    return "on " + (", ".join(sorted(state.networks)) or "no network")
