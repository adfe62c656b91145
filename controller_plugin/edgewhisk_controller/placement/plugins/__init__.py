"""One module per placement plugin, and the one map from plugin name to plugin class.

Why the map lives here: adding a plugin is a module in this folder plus a line below (its
name and typed ``Args`` go in ``placement/constraints.py``); nothing else names the classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..plugin import Plugin
from .artifact_locality import ArtifactLocality
from .asking_device import AskingDevice
from .balanced_load import BalancedLoad
from .battery_level import BatteryLevel
from .cached_artifact import CachedArtifact
from .capability import Capability
from .deadline_feasibility import DeadlineFeasibility
from .device_state import DeviceState
from .health import Health
from .namespace_access import NamespaceAccess
from .network_membership import NetworkMembership
from .node_selector import NodeSelector
from .proximity import Proximity
from .resources_fit import ResourcesFit
from .runtime_kind import RuntimeKind
from .warm_container import WarmContainer

PLUGINS: Mapping[str, type[Plugin[Any]]] = {
    cls.NAME: cls
    for cls in (
        Health, NamespaceAccess, RuntimeKind, ResourcesFit, NodeSelector, Capability,
        NetworkMembership, ArtifactLocality, Proximity, DeadlineFeasibility, WarmContainer,
        CachedArtifact, BalancedLoad, BatteryLevel, DeviceState,
        AskingDevice,
    )
}
