"""The controller's configuration: one frozen value built by the CLI and read by ``create_app``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .blobs import open_blobs
from .invokers.fleet import FleetMember
from .placement.config import PlacementConfig
from .schema.limits import NamespaceLimits
from .tunnel.hub import RECONNECT_CAP_S

BACKENDS = ("process", "docker")
_CLUSTER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_redis_uri(uri: str, option: str = "--composer-redis") -> None:
    """A ValueError unless ``uri`` is a Redis URL the conductor's client can open
    (``redis://HOST:PORT`` or ``rediss://`` for TLS, as Composer's README writes it)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"{option} must be a redis://HOST:PORT or rediss:// URL, "
                         f"got {uri!r}")


@dataclass(frozen=True)
class ControllerConfig:
    """Where the controller listens, keeps its state and runs activations.

    ``db`` is a CouchDB URL (or ``sqlite:///file``); without it the store is SQLite under
    ``data``. ``api_host`` is what actions get as ``__OW_API_HOST`` (defaults to the
    listening address).
    """

    host: str = "127.0.0.1"
    port: int = 3233
    data: Path = Path(".edgewhisk")
    db: str | None = None
    invokers: int = 1
    backend: str = "process"
    sandbox: bool = True  # the process backend's bubblewrap sandbox (off: one namespace only)
    invoker_memory_mb: int = 2048
    docker_url: str | None = None
    python_image: str | None = None
    api_host: str | None = None
    tls_cert: Path | None = None  # PEM certificate chain: serve HTTPS (and WSS for the tunnel)
    tls_key: Path | None = None
    heartbeat_timeout_s: float = 10.0  # an edge invoker without a heartbeat this long is offline
    reconnect_cap_s: float = RECONNECT_CAP_S  # --reconnect-cap: the agents' --backoff-cap
    fleet: tuple[FleetMember, ...] = ()  # --fleet: local invokers with attributes (else --invokers)
    placement: PlacementConfig = field(default_factory=PlacementConfig)  # --placement-config
    blobs: str | None = None  # --blobs: folder or s3://bucket?endpoint_url=... (else DATA/blobs)
    artifact_max_size: int = 1024**3  # --artifact-max-size: bytes of one uploaded artifact
    node_store_cap: int = 10 * 1024**3  # --node-store-cap: bytes each local invoker's store keeps
    durable: bool = True  # --no-durable-ack (benchmark only): answer before storing, as before
    guest: bool = False  # --guest: create OpenWhisk's well-known guest key off loopback too
    insecure: bool = False  # --insecure: serve plain HTTP on an address other hosts reach
    limits: NamespaceLimits = field(default_factory=NamespaceLimits)  # every namespace's...
    namespace_limits: Mapping[str, NamespaceLimits] = field(default_factory=dict)  # ...or own
    body_timeout_s: float = 30.0  # --body-timeout: a request body must arrive within this...
    body_min_rate: int = 64 * 1024  # --body-min-rate: ...plus 1 s per this many bytes received
    composer_redis: str | None = None  # --composer-redis: Composer's parallel/map Redis
    metrics: bool = True  # --no-metrics: /metrics is 404 and no seam is hooked (benchmarks)
    explain: bool = True  # --no-explain: records carry no placement explanation (benchmarks)
    cluster_redis: str | None = None  # --cluster-redis: controllers on one --db work as one
    cluster_id: str | None = None  # --cluster-id: this controller's name among them
    cluster_shard: bool = False  # --cluster-shard: invokes handed to the namespace's owner
    read_cache: bool = True  # --no-read-cache (benchmark only): read actions from the store

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.tls_cert is None and not self.insecure and not self.loopback:
            raise ValueError(
                f"refusing to serve plain HTTP on {self.host or '0.0.0.0'}, an address other "
                "hosts can reach: namespace keys and device tokens would cross the network "
                "in clear. Give --tls-cert and --tls-key, or --insecure to do it anyway")
        if not self.heartbeat_timeout_s > 0:
            raise ValueError(
                f"the heartbeat timeout must be positive, got {self.heartbeat_timeout_s}"
            )
        if not self.reconnect_cap_s >= 0:
            raise ValueError(f"the reconnect cap must not be negative, got "
                             f"{self.reconnect_cap_s}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.blobs:
            open_blobs(self.blobs)  # a malformed --blobs is a ValueError here, not at start
        if self.node_store_cap < 1:
            raise ValueError(f"the node store capacity must be positive, got "
                             f"{self.node_store_cap}")
        if self.artifact_max_size < 1:
            raise ValueError(
                f"the artifact size limit must be positive, got {self.artifact_max_size}"
            )
        if not self.body_timeout_s > 0 or self.body_min_rate < 1:
            raise ValueError(f"the body timeout and minimum rate must be positive, got "
                             f"{self.body_timeout_s} s and {self.body_min_rate} bytes/s")
        if self.composer_redis is not None:
            check_redis_uri(self.composer_redis)
        if self.cluster_redis is not None:
            check_redis_uri(self.cluster_redis, "--cluster-redis")
            if self.db is None or self.db.startswith("sqlite"):
                raise ValueError("--cluster-redis needs --db http://... (CouchDB): the "
                                 "controllers of a cluster share one store")
        if self.cluster_shard and self.cluster_redis is None:
            raise ValueError("--cluster-shard needs --cluster-redis: only controllers of a "
                             "cluster own namespaces")
        if self.cluster_id is not None and not _CLUSTER_ID.fullmatch(self.cluster_id):
            raise ValueError(f"--cluster-id must be 1-64 letters, digits, '.', '_' or '-', "
                             f"got {self.cluster_id!r}")
        if self.invokers < 0:  # 0: an edge-only controller, every activation goes down a tunnel
            raise ValueError(f"local invokers cannot be negative, got {self.invokers}")
        if self.invoker_memory_mb < 128:
            raise ValueError(
                f"invoker memory must be at least 128 MB, got {self.invoker_memory_mb}"
            )

    def limits_for(self, ns: str) -> NamespaceLimits:
        """Namespace ``ns``'s limits: its own (``--namespace-limits``), else the controller's."""
        return self.namespace_limits.get(ns, self.limits)

    @property
    def loopback(self) -> bool:
        """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1,
        ``localhost``); ``0.0.0.0`` and any other name are not."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def guest_enabled(self) -> bool:
        """Whether OpenWhisk's publicly known guest key opens the ``guest`` namespace: on
        loopback (a developer's machine), or when asked with ``--guest``."""
        return self.loopback or self.guest

    @property
    def artifacts(self) -> Path:
        """The artifact folder of the local invokers' runtimes: ``DATA/artifacts``, absolute.

        Absolute because each process-backend proxy runs in its own temporary folder, where a
        relative ``--data`` would point somewhere else (and vanish with the container).
        """
        return self.data.resolve() / "artifacts"

    @property
    def node_store(self) -> Path:
        """Where local invokers keep artifacts: ``DATA/node-store/<invoker id>``, absolute
        (the runtime reads staged paths from another working folder)."""
        return self.data.resolve() / "node-store"

    @property
    def work(self) -> Path:
        """Where the container backends make each container's work folder: ``DATA/work``,
        absolute, on the node store's file system (staging an artifact is a hard link);
        folders of a controller that died are swept at the next start."""
        return self.data.resolve() / "work"

    @property
    def blobs_location(self) -> str | Path:
        """Where cloud copies of artifacts go: ``--blobs``, else the folder ``DATA/blobs``."""
        return self.blobs if self.blobs else self.data / "blobs"

    @property
    def blobs_log(self) -> Path:
        """The blob store's access log (one JSON line per put/get/remove, whatever the
        backend): ``DATA/blobs-access.log``, absolute."""
        return self.data.resolve() / "blobs-access.log"

    @property
    def store_location(self) -> str | Path:
        return self.db if self.db else self.data

    def url(self, port: int | None = None) -> str:
        """The API host clients and actions use (the real port once it is bound)."""
        if self.api_host:
            return self.api_host
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        scheme = "https" if self.tls_cert is not None else "http"
        return f"{scheme}://{host}:{self.port if port is None else port}"
