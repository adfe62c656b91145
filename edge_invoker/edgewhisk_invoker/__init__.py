"""edgewhisk_invoker: the edge invoker agent (``edgewhisk invoker``).

Runs on a device behind NAT: dials the controller's tunnel (``edgewhisk_tunnel`` is the message
schema), registers, and runs the activations it is sent in the shared container pool
(``edgewhisk_runtime.containers``). It never imports the controller.

- :mod:`.agent` — :class:`Agent`, the connection lifecycle; :mod:`.link` — the WebSocket;
- :mod:`.activations` — runs and their results; :mod:`.beats` — heartbeats and metrics;
- :mod:`.artifacts` — the node store (``--store``) and artifact transfers around runs;
- :mod:`.outbox` — results kept until the controller has read them;
- :mod:`.backoff` — reconnect delays (exponential, full jitter, capped);
- :mod:`.context` — battery (Linux sysfs or the documented simulator) and networks;
- :mod:`.frames` — the device's values <-> tunnel messages (its half of the wire/local twins);
- :mod:`.config` — :class:`AgentConfig`, the ``ws://``-only-on-loopback rule, TLS;
- :mod:`.tokens` — the device-token REST calls; :mod:`.cli` — the command;
- :mod:`.exceptions` — the error tree.
"""

from edgewhisk_invoker.agent import AGENT_VERSION, Agent
from edgewhisk_invoker.backoff import Backoff
from edgewhisk_invoker.config import AgentConfig, tunnel_url
from edgewhisk_invoker.context import (
    ContextMonitor,
    DeviceContext,
    NetworkSchedule,
    SimConfig,
    SimulatedBattery,
    SysfsBattery,
)
from edgewhisk_invoker.exceptions import (
    ApiError,
    ConfigError,
    Fatal,
    InvokerError,
    Refused,
    Replaced,
    TlsFailure,
    TokenRejected,
)

__all__ = [
    "AGENT_VERSION",
    "Agent",
    "AgentConfig",
    "ApiError",
    "Backoff",
    "ConfigError",
    "ContextMonitor",
    "DeviceContext",
    "Fatal",
    "InvokerError",
    "NetworkSchedule",
    "Refused",
    "Replaced",
    "SimConfig",
    "SimulatedBattery",
    "SysfsBattery",
    "TlsFailure",
    "TokenRejected",
    "tunnel_url",
]
