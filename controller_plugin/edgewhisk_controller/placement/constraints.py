"""The vocabulary shared by the function preprocessor and the placement engine.

Why a module of its own: the preprocessor (``edgewhisk_controller.preprocess``) compiles an
action's annotation into ``Constraint`` values once per action version, and the engine
(``placement.framework``) turns each one into a plugin call. Both sides name plugins with the
constants below and build each plugin's arguments as its typed ``...Args`` value, so a plugin
name and the shape of its arguments live in exactly one place, and a misspelt argument is a
type error (or a ``TypeError`` when the constraint is built), never a ``KeyError`` at
placement time.

Args are frozen dataclasses of hashable values (str, numbers, tuples), built once per compiled
action or binding (never per placement): a bound constraint list keys the engine's cache of
filter masks and static scores. Each names its plugin (``PLUGIN``), so a ``Constraint`` is
just its arguments, whether it is hard, and its weight.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

# Plugin names (placement/plugins/__init__.py maps each to its class).
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
BATTERY_LEVEL = "BatteryLevel"
DEVICE_STATE = "DeviceState"
ASKING_DEVICE = "AskingDevice"
DEVICE_STATES = ("charging", "idle", "metered")
"""The flags of a device's live context ``DeviceState`` reads (``policy.context``)."""

Names = str | tuple[str, ...]
"""One name or several (``as_names`` reads either)."""
Artifact = str | tuple[str, int]
"""An artifact key (``u1/glucose``, a model name, an image), or ``(key, size_bytes)``."""


class Args:
    """Base of every plugin's arguments: which plugin they are for."""

    __slots__ = ()
    PLUGIN: ClassVar[str]


@dataclass(frozen=True)
class HealthArgs(Args):
    PLUGIN: ClassVar[str] = HEALTH


@dataclass(frozen=True)
class NamespaceAccessArgs(Args):
    PLUGIN: ClassVar[str] = NAMESPACE_ACCESS
    namespace: str


@dataclass(frozen=True)
class RuntimeKindArgs(Args):
    PLUGIN: ClassVar[str] = RUNTIME_KIND
    kind: str


@dataclass(frozen=True)
class ResourcesFitArgs(Args):
    PLUGIN: ClassVar[str] = RESOURCES_FIT
    memory_mb: int


@dataclass(frozen=True)
class NodeSelectorArgs(Args):
    PLUGIN: ClassVar[str] = NODE_SELECTOR
    node: Names


@dataclass(frozen=True)
class CapabilityArgs(Args):
    PLUGIN: ClassVar[str] = CAPABILITY
    capabilities: Names


@dataclass(frozen=True)
class NetworkMembershipArgs(Args):
    PLUGIN: ClassVar[str] = NETWORK_MEMBERSHIP
    networks: Names


@dataclass(frozen=True)
class ArtifactLocalityArgs(Args):
    PLUGIN: ClassVar[str] = ARTIFACT_LOCALITY
    artifacts: tuple[Artifact, ...]
    site: str | None = None  # where the copies that must move are (None: the controller's)


@dataclass(frozen=True)
class ProximityArgs(Args):
    PLUGIN: ClassVar[str] = PROXIMITY
    site: str | None = None  # the caller's site (None: the controller's)


@dataclass(frozen=True)
class DeadlineFeasibilityArgs(Args):
    PLUGIN: ClassVar[str] = DEADLINE_FEASIBILITY
    within_s: float
    action: str | None = None  # whose run time counts (None: the placed action)
    artifacts: tuple[Artifact, ...] = ()
    site: str | None = None


@dataclass(frozen=True)
class WarmContainerArgs(Args):
    PLUGIN: ClassVar[str] = WARM_CONTAINER
    action: str | None = None  # ns/name@version (None: the placed action)


@dataclass(frozen=True)
class CachedArtifactArgs(Args):
    PLUGIN: ClassVar[str] = CACHED_ARTIFACT
    artifacts: tuple[Artifact, ...]


@dataclass(frozen=True)
class BalancedLoadArgs(Args):
    PLUGIN: ClassVar[str] = BALANCED_LOAD


@dataclass(frozen=True)
class BatteryLevelArgs(Args):
    """``policy.context(battery='>=0.3')``: the operator and the level (0..1)."""

    PLUGIN: ClassVar[str] = BATTERY_LEVEL
    op: str
    level: float


@dataclass(frozen=True)
class DeviceStateArgs(Args):
    """``policy.context(charging=True)`` (or ``idle``, ``metered``): one flag's wanted value."""

    PLUGIN: ClassVar[str] = DEVICE_STATE
    state: str  # one of DEVICE_STATES
    value: bool = True


@dataclass(frozen=True)
class AskingDeviceArgs(Args):
    """The device whose agent forwarded the invoke (``X-Edgewhisk-Asking-Device``): a soft
    preference added per invocation (``preprocess.asked_by``), never compiled from an
    annotation."""

    PLUGIN: ClassVar[str] = ASKING_DEVICE
    invoker: str


def as_names(value: Names | None) -> tuple[str, ...]:
    """A constraint argument that is one name or several, as a tuple of names."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


ARGS: Mapping[str, type[Args]] = {cls.PLUGIN: cls for cls in (
    HealthArgs, NamespaceAccessArgs, RuntimeKindArgs, ResourcesFitArgs, NodeSelectorArgs,
    CapabilityArgs, NetworkMembershipArgs, ArtifactLocalityArgs, ProximityArgs,
    DeadlineFeasibilityArgs, WarmContainerArgs, CachedArtifactArgs, BalancedLoadArgs,
    BatteryLevelArgs, DeviceStateArgs, AskingDeviceArgs)}
"""Plugin name -> its Args type (for callers holding names, such as the benchmark's specs)."""

KEYED_BY_ARTIFACT = (ArtifactLocalityArgs, CachedArtifactArgs, DeadlineFeasibilityArgs)
"""The Args naming artifacts by key (``artifacts``): a resolved model is rekeyed in these."""


@dataclass(frozen=True)
class Constraint:
    """One compiled constraint: a plugin's arguments, used as a filter (``hard``) or a score.

    ``weight`` is filled from configuration for soft constraints; hard ones ignore it.
    Hashable, so a bound constraint list can key the engine's caches.
    """

    args: Args
    hard: bool = False
    weight: float = 1.0

    @property
    def plugin(self) -> str:
        return self.args.PLUGIN


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


class Bound(Protocol):
    """What the engine places: a cache key naming action + binding, and the constraints.

    The preprocessor's ``BoundAction`` is one; ``Constraints`` is a plain list as one.
    """

    @property
    def key(self) -> Hashable: ...

    @property
    def constraints(self) -> tuple[Constraint, ...]: ...


@dataclass(frozen=True)
class Constraints(HardAndSoft):
    """A plain constraint list as a ``Bound`` (tests, benchmarks): keyed by the list itself."""

    constraints: tuple[Constraint, ...] = ()

    @property
    def key(self) -> Hashable:
        return self.constraints


def always(namespace: str, kind: str, memory_mb: int, action: str, site: str | None,
           weight: Callable[[str], float]) -> tuple[Constraint, ...]:
    """The constraints every placement has, in check order: the invoker is healthy, serves the
    namespace, fits the memory limit and offers the exec kind (hard); free memory, a warm
    container of ``action`` and nearness to the caller's ``site`` count (soft, ``weight``).

    Defined once: the compiler starts every compiled action with them, and the engine adds
    those a bound constraint list does not already use (``Engine.constraints_for``).
    """
    return (
        Constraint(HealthArgs(), True),
        Constraint(NamespaceAccessArgs(namespace), True),
        Constraint(ResourcesFitArgs(memory_mb), True),
        Constraint(RuntimeKindArgs(kind), True),
        Constraint(BalancedLoadArgs(), False, weight(BALANCED_LOAD)),
        Constraint(WarmContainerArgs(action), False, weight(WARM_CONTAINER)),
        Constraint(ProximityArgs(site), False, weight(PROXIMITY)),
    )
