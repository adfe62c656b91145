"""How wide a locality is: the one ordering of ``local`` < ``network:NAME`` < ``cloud``.

Why here, below the controller and the agent: an output may never be wider than its inputs,
and two places decide an output's locality before it exists — the controller's planner
(``edgewhisk_controller.artifacts.locality``, which names the rule in its refusals) and a
device running an action cut off from the controller (``edgewhisk_invoker.local_run``). Both
use these two functions, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

CLOUD = "cloud"
LOCAL = "local"
NETWORK_PREFIX = "network:"


def network_of(locality: str) -> str | None:
    """``network:corp`` -> ``corp``; None for ``local`` and ``cloud``."""
    return locality[len(NETWORK_PREFIX):] if locality.startswith(NETWORK_PREFIX) else None


def widest(localities: Iterable[str]) -> str:
    """The widest locality an output of inputs with ``localities`` may have: ``local`` from
    any local input (or from inputs of two networks), ``network:N`` from inputs of network N,
    else ``cloud``."""
    networks = set()
    for locality in localities:
        if locality == LOCAL:
            return LOCAL
        network = network_of(locality)
        if network is not None:
            networks.add(network)
    if len(networks) > 1:
        return LOCAL
    return f"{NETWORK_PREFIX}{networks.pop()}" if networks else CLOUD


def wider(locality: str, than: str) -> bool:
    """Whether ``locality`` lets bytes go where ``than`` does not (two different networks
    are each wider than the other)."""
    rank = {LOCAL: 0, CLOUD: 2}
    if network_of(locality) is not None and network_of(than) is not None:
        return locality != than
    return rank.get(locality, 1) > rank.get(than, 1)
