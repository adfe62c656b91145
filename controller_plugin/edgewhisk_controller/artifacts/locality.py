"""Where an artifact's bytes may go, decided from its locality — the registry's side of it.

Rules (issue 6): a ``local`` artifact never leaves its device, only its metadata
does; a ``network:NAME`` artifact moves only between invokers in that network; a ``cloud``
artifact may be kept and served by the controller's blob store. The controller is not a
device and is in no edge network, so it may hold and hand out the bytes of ``cloud``
artifacts only; for the others it keeps metadata and the list of copies (invoker ids).

Every refusal names the rule. The rules are enforced here, on every path:

- ``check_download`` / ``check_upload``: the REST API and the blob store (cloud only);
- ``check_move``: any transfer of bytes (tunnel fetch, relay, preload, a local invoker
  staging from the blob store); ``check_preload``: a preload request as a whole;
- ``check_placement``: the dispatcher, once placement chose an invoker, before anything runs;
- ``check_produce``: the dispatcher, before the run: an output is never wider than its inputs
  (``widest`` is the default locality of an output that declares none).

Why a function with a strict ``policy.data(network=[...])`` is checked here too: its promise is
that it never sees data from outside its networks, which depends on the consumed versions'
localities (known only once resolved), not on the placement constraints alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from edgewhisk_runtime.artifacts import locality as ordering
from edgewhisk_runtime.artifacts.locality import network_of

from .exceptions import InvalidArtifact, LocalityRefused

if TYPE_CHECKING:
    from ..placement.interface import InvokerState

CLOUD = "cloud"
LOCAL = "local"
_NETWORK = re.compile(r"network:[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}")


def check_locality(value: Any) -> str:
    if value in (LOCAL, CLOUD) or (isinstance(value, str) and _NETWORK.fullmatch(value)):
        return str(value)
    raise InvalidArtifact(f"locality: {value!r} must be 'local', 'cloud' or 'network:NAME'")


def rule(name: str, locality: str) -> str:
    """The rule a locality imposes, in one sentence naming the artifact."""
    if locality == LOCAL:
        return f"artifact {name} is local to its device; only its metadata leaves it"
    if locality.startswith("network:"):
        network = locality[len("network:"):]
        return (f"artifact {name} is restricted to network {network}; its bytes move only "
                f"between invokers in {network}, and only its metadata reaches the cloud")
    return f"artifact {name} may be kept in the cloud"


def check_download(doc: Mapping[str, Any]) -> None:
    """The registry hands out bytes of ``cloud`` artifacts only (403 naming the rule)."""
    if doc["locality"] != CLOUD:
        raise LocalityRefused(rule(doc["name"], doc["locality"]))


def check_upload(name: str, locality: str, *, has_content: bool) -> None:
    """Bytes of a ``local``/``network:`` artifact may not be sent to the cloud store: such an
    artifact is registered by its metadata (sha256, size, held_by) without content."""
    if has_content and locality != CLOUD:
        raise LocalityRefused(
            f"{rule(name, locality)}: register it with held_by=INVOKER, sha256 and size, "
            "and no content")


def label(doc: Mapping[str, Any]) -> str:
    """``name@version`` of a registry document (the name alone for an unversioned one)."""
    version = doc.get("version")
    return f"{doc['name']}@{version}" if version is not None else str(doc["name"])


def _refuse(doc: Mapping[str, Any], why: str) -> LocalityRefused:
    return LocalityRefused(f"{rule(label(doc), doc['locality'])}: {why}")


def check_move(doc: Mapping[str, Any], *, to: InvokerState | str,
               from_: InvokerState | str | None = None) -> None:
    """May the bytes of ``doc`` go from ``from_`` (None: wherever a copy is) to ``to``?

    ``CLOUD`` on either end is the controller's blob store. A ``local`` artifact "moves" only
    to the invoker already holding it (a no-op); a ``network:N`` one only between members of
    N, never through the cloud store; a ``cloud`` one anywhere.
    """
    locality = doc["locality"]
    if locality == CLOUD:
        return
    for end, word in ((from_, "from"), (to, "to")):
        if end == CLOUD:
            raise _refuse(doc, f"refused to move it {word} the cloud store")
    if locality == LOCAL:
        assert not isinstance(to, str)
        holder = from_.id if from_ is not None and not isinstance(from_, str) else None
        if to.id in doc.get("copies", []) and holder in (None, to.id):
            return
        raise _refuse(doc, f"refused to send it to invoker {to.id}")
    network = network_of(locality)
    for end in (from_, to):
        if end is not None and not isinstance(end, str) and network not in end.networks:
            raise _refuse(doc, f"invoker {end.id} is not in network {network}")


def check_preload(doc: Mapping[str, Any]) -> None:
    """Preloads push from the cloud store, which holds ``cloud`` artifacts only."""
    if doc["locality"] != CLOUD:
        raise _refuse(doc, "it cannot be preloaded: preloads push from the cloud store, "
                           "where its bytes never are")


def data_rule(networks: Sequence[str]) -> str:
    return (f"a function with a strict policy.data(network={list(networks)}) sees no data "
            "from outside those networks")


def check_placement(consumed: Iterable[Mapping[str, Any]], invoker: InvokerState, *,
                    data_networks: Sequence[Sequence[str]] = ()) -> None:
    """May an activation consuming ``consumed`` (registry documents) run on ``invoker``?

    A ``local`` artifact must already be there (its copies name the invoker); a
    ``network:N`` one may reach only members of N; with strict data policies
    (``data_networks``, each policy's bound networks) every consumed ``data`` artifact must
    come from inside each policy's networks: ``network:M`` with M among them, or ``local`` on
    an invoker that is in one of them — ``cloud`` data never.
    """
    for doc in consumed:
        locality = doc["locality"]
        if locality == LOCAL and invoker.id not in doc.get("copies", []):
            held = ", ".join(str(c) for c in doc.get("copies", [])) or "no invoker"
            raise _refuse(doc, f"it is held by {held}, and the activation was placed on "
                               f"invoker {invoker.id}")
        network = network_of(locality)
        if network is not None and network not in invoker.networks:
            raise _refuse(doc, f"the activation was placed on invoker {invoker.id}, which is "
                               f"not in network {network}")
        if doc["kind"] != "data":
            continue
        for networks in data_networks:
            inside = (network in networks if network is not None
                      else locality == LOCAL and bool(invoker.networks & set(networks)))
            if not inside:
                where = f"{locality} on invoker {invoker.id}" if locality == LOCAL else locality
                raise LocalityRefused(f"{data_rule(networks)}: data artifact {label(doc)} is "
                                      f"{where}")


def widest(consumed: Iterable[Mapping[str, Any]]) -> str:
    """The widest locality an output of ``consumed`` may have (``edgewhisk_runtime``'s
    ordering, shared with a device that runs an action cut off)."""
    return ordering.widest(doc["locality"] for doc in consumed)


def check_produce(consumed: Sequence[Mapping[str, Any]],
                  produces: Iterable[tuple[str, str]]) -> None:
    """Refuse (before the run) an output ``(name, locality)`` wider than its inputs allow:
    from a ``local`` input only ``local``; from ``network:N`` only ``local`` or
    ``network:N``."""
    allowed = widest(consumed)
    for name, locality in produces:
        if not ordering.wider(locality, allowed):
            continue
        source = next(doc for doc in consumed if ordering.wider(locality, doc["locality"])
                      or doc["locality"] == LOCAL)
        raise LocalityRefused(
            f"{rule(label(source), source['locality'])}: an output may not be wider than its "
            f"inputs, so {name} may not be {locality} (at most {allowed})")
