"""The one map from plugin name to plugin class (names live in ``constraints``)."""

from __future__ import annotations

from collections.abc import Mapping

from .plugin import Plugin
from .plugins.artifact_locality import ArtifactLocality
from .plugins.balanced_load import BalancedLoad
from .plugins.cached_artifact import CachedArtifact
from .plugins.capability import Capability
from .plugins.deadline_feasibility import DeadlineFeasibility
from .plugins.health import Health
from .plugins.namespace_access import NamespaceAccess
from .plugins.network_membership import NetworkMembership
from .plugins.node_selector import NodeSelector
from .plugins.proximity import Proximity
from .plugins.resources_fit import ResourcesFit
from .plugins.runtime_kind import RuntimeKind
from .plugins.warm_container import WarmContainer

PLUGINS: Mapping[str, type[Plugin]] = {
    cls.NAME: cls
    for cls in (
        Health, NamespaceAccess, RuntimeKind, ResourcesFit, NodeSelector, Capability,
        NetworkMembership, ArtifactLocality, Proximity, DeadlineFeasibility, WarmContainer,
        CachedArtifact, BalancedLoad,
    )
}
