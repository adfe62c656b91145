"""The constraints of the placement benchmark, written once, translated by each scheduler.

Why neutral specs: the comparison is only fair if our engine and the peer evaluate the same
number of hard and soft constraints with the same meaning on the same nodes. A ``Term`` names a
plugin of ours (placement/constraints.py) and its arguments; ``bench/peers/skippy.py`` maps each
one to a skippy predicate or priority, ``bench/placement.py`` to an engine ``Constraint``.

Hard (5, always): Health, ResourcesFit (256 MB), RuntimeKind python:3, Capability ``ssd``
(strict), NetworkMembership in one of four networks (strict).

Soft (1 ... 20): a fixed cycle whose terms all differ (distinct arguments), so 20 soft
constraints are 20 different score terms, not one term counted 20 times. The order puts first
the three soft terms our engine adds to every placement anyway (BalancedLoad, WarmContainer,
Proximity to the caller's site ``SITES[0]``), then Capability, ArtifactLocality, NodeSelector,
NetworkMembership, CachedArtifact, DeadlineFeasibility, and then the parametrised ones again
(Proximity first) with the next argument.

Argument names are the preprocessor's (``preprocess/compiler.py``); ``bench/ours.py`` adapts
them to what the engine's plugins read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from population import ARTIFACTS, NETWORKS, SITES, Population

ACTION_MEMORY_MB = 256
ACTION_CPU_MILLIS = 250
ACTION_KIND = "python:3"
NAMESPACE = "guest"
RUN_MS = 120.0  # the observed run time the deadline terms assume
HARD_CAPABILITY = "ssd"
HARD_NETWORKS = NETWORKS[:4]
SOFT_CAPABILITIES = ("gpu", "camera", "coral", "npu", "microphone")
ZONES = tuple(f"zone-{i}" for i in range(8))
DEADLINES_S = (0.5, 1.0, 2.0, 5.0)
ACTION = "guest/bench@1"  # the action version placed (ns/name@version)


@dataclass(frozen=True)
class Term:
    plugin: str
    args: dict[str, Any] = field(default_factory=dict)
    hard: bool = False


def hard_terms() -> list[Term]:
    return [
        Term("Health", {}, True),
        Term("ResourcesFit", {"memory_mb": ACTION_MEMORY_MB}, True),
        Term("RuntimeKind", {"kind": ACTION_KIND}, True),
        Term("Capability", {"capabilities": (HARD_CAPABILITY,)}, True),
        Term("NetworkMembership", {"networks": HARD_NETWORKS}, True),
    ]


def _parametrised(round_: int) -> list[Term]:
    return [
        Term("Proximity", {"site": SITES[(7 * round_) % len(SITES)]}),
        Term("Capability",
             {"capabilities": (SOFT_CAPABILITIES[round_ % len(SOFT_CAPABILITIES)],)}),
        Term("ArtifactLocality", {"artifacts": (ARTIFACTS[2 * round_ % len(ARTIFACTS)],)}),
        Term("NodeSelector", {"node": f"zone={ZONES[round_ % len(ZONES)]}"}),
        Term("NetworkMembership", {"networks": (NETWORKS[4 + round_ % 12],)}),
        Term("CachedArtifact", {"artifacts": (ARTIFACTS[(2 * round_ + 1) % len(ARTIFACTS)],)}),
        Term("DeadlineFeasibility",
             {"within_s": DEADLINES_S[round_ % len(DEADLINES_S)], "action": ACTION}),
    ]


def soft_terms(count: int) -> list[Term]:
    """The first ``count`` terms of the soft cycle (see the module doc); all distinct."""
    terms = [Term("BalancedLoad"), Term("WarmContainer", {"action": ACTION}), *_parametrised(0)]
    round_ = 1
    while len(terms) < count:
        terms.extend(_parametrised(round_))
        round_ += 1
    chosen = terms[:count]
    assert len({(t.plugin, tuple(sorted(map(str, t.args.items())))) for t in chosen}) == count
    return chosen


def feasible(population: Population) -> np.ndarray:
    """The machines passing the five hard terms, computed directly from the population: both
    schedulers' choices must lie in it, and skippy scoring all nodes must find exactly it."""
    n = len(population)
    wanted = set(HARD_NETWORKS)
    return (population.healthy
            & (population.memory_mb >= ACTION_MEMORY_MB)
            & np.fromiter((ACTION_KIND in k for k in population.kinds), bool, n)
            & np.fromiter((HARD_CAPABILITY in c for c in population.capabilities), bool, n)
            & np.fromiter((bool(wanted & nets) for nets in population.networks), bool, n))
