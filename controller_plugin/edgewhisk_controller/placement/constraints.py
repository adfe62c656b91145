"""The vocabulary shared by the function preprocessor and the placement engine.

Why a module of its own: the preprocessor (``edgewhisk_controller.preprocess``) compiles an
action's annotation into ``Constraint`` values once per action version, and the engine
(``placement.framework``) turns each one into a plugin call; both sides name plugins with the
constants below, so a plugin name lives in exactly one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Plugin names (the registry in placement/registry.py maps each to its class).
HEALTH = "Health"
NAMESPACE_ACCESS = "NamespaceAccess"
RESOURCES_FIT = "ResourcesFit"
RUNTIME_KIND = "RuntimeKind"
NODE_SELECTOR = "NodeSelector"
CAPABILITY = "Capability"
NETWORK_MEMBERSHIP = "NetworkMembership"
ARTIFACT_LOCALITY = "ArtifactLocality"
PROXIMITY = "Proximity"
DEADLINE_FEASIBILITY = "DeadlineFeasibility"
WARM_CONTAINER = "WarmContainer"
CACHED_ARTIFACT = "CachedArtifact"
BALANCED_LOAD = "BalancedLoad"


@dataclass(frozen=True)
class Constraint:
    """One compiled constraint: which plugin, with which arguments, as a filter or a score.

    ``args`` holds only hashable values (str, numbers, tuples, frozensets) so a bound
    constraint list can key the engine's cache of filter masks and static scores.
    ``weight`` is filled from configuration for soft constraints; hard ones ignore it.
    """

    plugin: str
    args: Mapping[str, Any] = field(default_factory=dict)
    hard: bool = False
    weight: float = 1.0

    def __hash__(self) -> int:
        return hash((self.plugin, tuple(sorted(self.args.items())), self.hard, self.weight))


class HardAndSoft:
    """A mixin for values holding ``constraints``: their hard (filter) and soft (score) parts.

    Compiled actions, bound actions and the benchmark's own bound values all split the same
    way; the split lives here, beside ``Constraint``.
    """

    __slots__ = ()
    constraints: tuple[Constraint, ...]

    @property
    def hard(self) -> tuple[Constraint, ...]:
        return tuple(k for k in self.constraints if k.hard)

    @property
    def soft(self) -> tuple[Constraint, ...]:
        return tuple(k for k in self.constraints if not k.hard)
