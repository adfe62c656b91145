"""What an agent is told at start: where the controller is and what this device offers.

Why ``ws://`` is refused off loopback: the tunnel carries the device token, action code and
results; in clear text on a real network anyone on the path could take over the device's
identity. ``ws://`` stays for development against a controller on the same machine.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from edgewhisk_runtime.artifacts.store import parse_size
from edgewhisk_tunnel.messages import PROTOCOL_VERSION, TUNNEL_PATH

from .exceptions import ConfigError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_NOT_ID = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class AgentConfig:
    """The agent's identity and offer (sent in ``register``) and its connection settings."""

    controller: str                    # the tunnel URL (see :func:`tunnel_url`)
    token: str
    id: str
    memory_mb: int = 1024
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()
    site: str = ""
    owner: str | None = None
    role: str = "edge"
    bandwidth_mbps: float | None = None
    cached: tuple[str, ...] = ()
    ws_heartbeat_s: float = 5.0        # aiohttp's WebSocket ping/pong (dead-socket detection)
    register_timeout_s: float = 10.0   # for ``registered`` after ``register``
    grace_s: float = 10.0              # on SIGTERM: how long running activations may finish
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    controllers: tuple[str, ...] = ()  # every tunnel URL, tried in turn (): only ``controller``
    protocol: int = PROTOCOL_VERSION   # --protocol 1: speak to a controller of version 1

    @property
    def urls(self) -> tuple[str, ...]:
        """The controllers' tunnel URLs in the order the agent tries them: several
        controllers share one store, so any of them can take this device."""
        return self.controllers or (self.controller,)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tunnel_url(controller: str) -> str:
    """``wss://host:port`` -> ``wss://host:port/v1/invokers/tunnel`` (a given path is kept);
    ``ws://`` only for a loopback host; ``https://``/``http://`` are accepted as their WebSocket
    schemes (the same loopback rule applies to ``http://``)."""
    parts = urlsplit(controller.strip())
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"--controller must be wss://HOST:PORT, got {controller!r}")
    if scheme == "ws" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"--controller {controller!r}: ws:// (no TLS) is only allowed to a loopback address "
            f"(127.0.0.1, ::1, localhost); use wss:// (and --ca-file for a private CA)")
    path = parts.path if parts.path not in ("", "/") else TUNNEL_PATH
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def tunnel_urls(given: list[str]) -> tuple[str, ...]:
    """``--controller`` given once or more, each maybe a comma-separated list: the tunnel
    URLs in order, without repeats (each checked by :func:`tunnel_url`)."""
    urls = []
    for entry in given:
        items = [item for item in entry.split(",") if item.strip()]
        if not items:
            raise ConfigError(f"--controller {entry!r} names no controller")
        urls += [tunnel_url(item) for item in items]
    return tuple(dict.fromkeys(urls))


def ssl_context(url: str, ca_file: str | None) -> ssl.SSLContext | None:
    """Verification against the system's CAs, or only ``ca_file``'s when given; None for ws://."""
    if url.startswith("ws://"):
        return None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"--ca-file {ca_file}: {exc}") from None


def default_id() -> str:
    """The host name, made a valid invoker id."""
    name = _NOT_ID.sub("-", socket.gethostname()).strip("-._") or "edge"
    return name[:64]


def parse_labels(items: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` -> dict; a later key wins."""
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--label must be KEY=VALUE, got {item!r}")
        labels[key.strip()] = value.strip()
    return labels


def parse_bytes(text: str) -> int:
    """``--store-cap``: ``2GB`` (10**9 bytes a GB), ``512MiB``, ``1.5G`` or bytes, read as the
    controller's ``--node-store-cap`` is (``edgewhisk_runtime.artifacts.store.parse_size``)."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise ConfigError(f"--store-cap must be a size such as 500MB or 2GB: {exc}") from None
