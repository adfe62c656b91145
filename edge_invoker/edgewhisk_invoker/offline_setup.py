"""Building the agent's offline half from its flags (``--offline-dir``, ``--local-api``...).

Why apart from ``cli.py``: the pieces (durable state, local runner, forwarding client, local
API) are wired in one order, and a flag mistake must be a ``ConfigError`` before anything
listens.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from edgewhisk_client.transport import Transport
from edgewhisk_runtime.containers import ContainerPool

from .artifacts import DeviceArtifacts
from .config import AgentConfig
from .context import ContextMonitor
from .exceptions import ConfigError
from .local_api import LocalApi, load_key, make_app
from .local_run import LocalRunner
from .offline_state import OfflineState
from .offline_work import OfflineWork


@dataclass
class Offline:
    work: OfflineWork
    api: LocalApi
    key: str


def api_host(tunnel: str) -> str:
    """The controller's REST API beside its tunnel: ``wss://h:p/...`` -> ``https://h:p``."""
    parts = urlsplit(tunnel)
    scheme = {"wss": "https", "ws": "http"}[parts.scheme]
    return urlunsplit((scheme, parts.netloc, "", "", ""))


def open_offline(args: argparse.Namespace, config: AgentConfig, artifacts: DeviceArtifacts,
                 pool: ContainerPool, monitor: ContextMonitor) -> Offline | None:
    if args.offline_dir is None:
        if args.local_api or args.local_port:
            raise ConfigError("--local-api and --local-port need --offline-dir DIR")
        return None
    if args.local_port is not None and not 0 < args.local_port < 65536:
        raise ConfigError(f"--local-port must be a port number, got {args.local_port}")
    folder = Path(args.offline_dir).expanduser().resolve()
    state = OfflineState(folder)
    forward = None
    if args.api_key:
        forward = Transport(api_host(config.controller), args.api_key, ca_file=args.ca_file)
    work = OfflineWork(config, state, LocalRunner(config, state, artifacts, pool),
                       forward=forward, networks=lambda: monitor.snapshot().networks)
    key = load_key(folder)
    socket_path = Path(args.local_api).expanduser().resolve() if args.local_api else None
    return Offline(work, LocalApi(make_app(work, key), socket_path, args.local_port), key)
