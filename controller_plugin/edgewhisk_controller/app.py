"""``create_app(config)``: the controller as one aiohttp application.

Everything long-lived hangs off typed ``AppKey``s (``keys.py``) and is opened and closed in
one ``cleanup_ctx`` generator, in dependency order: the store (with the guest namespace and
the ``/whisk.system`` catalog), the container backend, one ``LocalInvoker`` with its own pool
and node store per ``--invokers`` (or per ``--fleet`` member, with its placement attributes),
the registry, the placement ``Engine`` (configured by ``--placement-config``), the dispatcher
(with the artifact registry); then start-up recovery finishes what a previous run accepted and
never recorded (``dispatch/recovery.py``), before the first request; then the alarm service
(the schedules the alarms feeds registered). Shutdown runs the same list backwards: the alarms
stop, the dispatcher lets running activations finish (and records the rest), then every
container is destroyed, then the store closes. The middleware list is declared once, errors
outermost.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from edgewhisk_runtime import workdirs
from edgewhisk_runtime.artifacts.store import NodeStore
from edgewhisk_runtime.containers import ContainerBackend, ContainerPool, ProcessBackend
from edgewhisk_runtime.containers.sdk import import_docker

from . import catalog, cluster, console, observe, tunnel
from .api import RESOURCES
from .artifacts import ArtifactRegistry
from .auth import Authenticator, ensure_guest
from .blobs import BlobStore, LoggedBlobStore, open_blobs
from .config import ControllerConfig
from .dispatch import Dispatcher, recover
from .dispatch.alarms import COLL as ALARM_SCHEDULES
from .dispatch.alarms import AlarmService
from .dispatch.offline import OfflineService
from .dispatch.recovery import through
from .dispatch.throttle import Throttle
from .invokers import Invoker, InvokerRegistry, LocalInvoker
from .keys import ALARMS, AUTHENTICATOR, CONFIG, DISPATCHER, REGISTRY, STORE, THROTTLE
from .middleware import auth_middleware, errors_middleware
from .middleware.shard import shard_middleware
from .observe import http as observe_http
from .observe.access import access_middleware
from .placement import Engine, PlacementEngine
from .stores import open_store

log = logging.getLogger("edgewhisk_controller")

MIDDLEWARES = (access_middleware, errors_middleware, auth_middleware)
"""Outermost first: the access log sees every answer; errors answers whatever auth (or a
handler) raises."""

CLIENT_MAX_SIZE = 64 * 1024 * 1024
"""Action PUTs carry code up to 48 MB (base64 zips); payloads are checked at 1 MiB by handlers."""


def create_app(config: ControllerConfig, *, port: int | None = None) -> web.Application:
    """Build the application; nothing is opened until it starts (``cleanup_ctx``).

    ``port`` is the port actually bound, when the caller knows it (``--port 0``).
    """
    sharded = (shard_middleware,) if config.cluster_shard else ()
    app = web.Application(middlewares=(*MIDDLEWARES, *sharded), client_max_size=CLIENT_MAX_SIZE)
    app[CONFIG] = config
    app[STORE] = store = open_store(config.store_location)
    app[AUTHENTICATOR] = Authenticator(store, allow_guest=config.guest_enabled)
    app[THROTTLE] = Throttle()  # per-namespace limits (config.limits_for)
    blobs = LoggedBlobStore(open_blobs(config.blobs_location), config.blobs_log)
    app[REGISTRY] = ArtifactRegistry(store, blobs, max_size=config.artifact_max_size)
    for routes in RESOURCES:
        app.add_routes(routes)
    app.add_routes(tunnel.ROUTES)
    app.add_routes(observe_http.ROUTES)  # /metrics, /health, /ready
    if config.metrics:
        app[observe.METRICS] = observe.Metrics()
    console.install(app)  # /console: the web console
    app.on_shutdown.append(_close_tunnels)
    app.cleanup_ctx.append(lambda app: _lifecycle(app, port))
    return app


async def _close_tunnels(app: web.Application) -> None:
    """Edge invokers' sockets would hold up aiohttp's wait for handlers: GOING_AWAY first."""
    hub = app.get(tunnel.TUNNEL)
    if hub is not None:
        await hub.shutdown()


async def _lifecycle(app: web.Application, port: int | None) -> AsyncIterator[None]:
    """Open in dependency order; the exit stack closes in reverse, whatever failed."""
    config, store = app[CONFIG], app[STORE]
    async with contextlib.AsyncExitStack() as opened:
        opened.push_async_callback(store.close)
        opened.push_async_callback(app[REGISTRY].close)  # the blob store's clients
        if config.guest_enabled:  # loopback or --guest: the publicly known key is safe/asked
            await ensure_guest(store)
        await catalog.install(store)  # /whisk.system: utils, alarms
        _sweep(config)
        backend = _backend(config)
        opened.push_async_callback(backend.close)
        registry = InvokerRegistry(_local_invokers(backend, config, app[REGISTRY].blobs))
        opened.push_async_callback(registry.close)  # destroys every container
        placement: PlacementEngine = Engine(config.placement)
        metrics = app.get(observe.METRICS)
        if metrics is not None:  # every component sees the engine through the metrics' seam
            placement = metrics.engine(placement)
        for invoker in registry:  # edge invokers join through the tunnel hub, which tells it
            placement.register(invoker.state())
            if isinstance(invoker, LocalInvoker):  # a container its pool dropped is not warm
                invoker.pool.on_evict.append(
                    functools.partial(_forget_warm, placement, invoker.id))
                invoker.on_held.append(functools.partial(_held, placement, app[REGISTRY]))
                app[REGISTRY].follow(invoker.id, invoker.held)  # what it kept from before
        hub = tunnel.TunnelHub(tunnel.Tokens(store), registry, placement,
                               offline_after_s=config.heartbeat_timeout_s,
                               reconnect_cap_s=config.reconnect_cap_s,
                               artifacts=app[REGISTRY])
        app[tunnel.TUNNEL] = hub  # edge invokers join the registry through it
        opened.push_async_callback(hub.shutdown)
        dispatcher = Dispatcher(store, registry, placement, api_host=config.url(port),
                                artifacts=app[REGISTRY], durable=config.durable,
                                composer_redis=config.composer_redis,
                                explain=config.explain)
        opened.push_async_callback(dispatcher.close)  # running activations finish or abort
        app[DISPATCHER] = dispatcher
        if metrics is not None:
            metrics.follow(dispatcher, hub)
        dispatcher.on_record.append(app[console.EVENTS].recorded)  # the console's live list
        hub.offline_work = OfflineService(  # devices cut off
            store, api_host=config.url(port), artifacts=app[REGISTRY])
        throttle = app[THROTTLE]
        app[ALARMS] = alarms = AlarmService(  # fires what feeds registered, within the limits
            store, dispatcher, lambda ns: throttle.fire(ns, config.limits_for(ns)))
        opened.push_async_callback(alarms.close)  # after the cluster's feed stops (LIFO)
        owned = None
        if config.cluster_redis is not None:  # several controllers as one
            joined = await _join_cluster(app, hub, placement, dispatcher, alarms, port)
            opened.push_async_callback(joined.leave)
            owned = joined.owned
        # what the last run accepted and left unfinished (in a cluster: its own)
        await recover(dispatcher, through(hub), owned=owned)
        await alarms.start()
        yield


async def _join_cluster(app: web.Application, hub: tunnel.TunnelHub,
                        placement: PlacementEngine, dispatcher: Dispatcher,
                        alarms: AlarmService, port: int | None) -> cluster.Joined:
    """Publish this controller's devices, follow its peers' and the others' writes
    (``cluster/``); stamp what it accepts with its id."""
    config = app[CONFIG]
    assert config.cluster_redis is not None
    me = config.cluster_id or f"{config.host}-{port or config.port}"
    if not config.blobs:
        log.warning("artifact bytes go to this controller's own folder %s: the other "
                    "controllers of the cluster cannot serve or preload them; give every "
                    "controller the same --blobs s3://BUCKET (or one folder they share)",
                    config.blobs_location)
    node = cluster.joining(config.cluster_redis, me, hub, placement, api=config.url(port),
                           shard=config.cluster_shard)
    dispatcher.journal.owner = me
    joined = await cluster.join(
        node, store=app[STORE], hub=hub, artifacts=app[REGISTRY],
        authenticator=app[AUTHENTICATOR], gates=dispatcher.gates,
        standing=dispatcher.standing, follow={ALARM_SCHEDULES: alarms.changed},
        cache=config.read_cache,
        recover=lambda owned, reclaim, reclaimable: recover(
            dispatcher, reclaim, owned=owned, reclaimable=reclaimable))
    app[cluster.NODE] = node
    app[THROTTLE].shares = node.sharing  # each controller throttles its part of a limit
    dispatcher.journal.incarnation = node.membership.incarnation  # counted as it joined
    return joined


def _sweep(config: ControllerConfig) -> None:
    """Work folders a controller or runtime left when it died (``edgewhisk_runtime.workdirs``)."""
    for removed in workdirs.sweep() + workdirs.sweep(config.work):
        log.info("removed the work folder %s of a process that is gone", removed)


def _backend(config: ControllerConfig) -> ContainerBackend:
    """The one container backend all local invokers share (docker imported only if used)."""
    if config.backend == "docker":
        docker = import_docker()  # a clear error naming the docker extra when it is absent
        from edgewhisk_runtime.containers.docker import DockerBackend

        client = (docker.DockerClient(base_url=config.docker_url) if config.docker_url
                  else docker.from_env())
        images = {"python:3": config.python_image} if config.python_image else None
        return DockerBackend(client, images,  # None: python3-ai:latest; blackbox: its own
                             workroot=config.work)
    return ProcessBackend(artifacts=config.artifacts, workroot=config.work,
                          hidden=[config.data.resolve(), config.node_store],
                          sandbox="auto" if config.sandbox else None)


def _held(placement: PlacementEngine, registry: ArtifactRegistry, invoker: LocalInvoker,
          before: frozenset[str], now: frozenset[str]) -> None:
    """A local invoker's node store changed: placement's cached column and the registry's
    copies follow (edge devices report theirs through the tunnel)."""
    placement.heartbeat(invoker.id, cached=invoker.state().cached)
    registry.follow(invoker.id, now)


def _forget_warm(placement: PlacementEngine, invoker_id: str, key: str) -> None:
    """The pool keys containers ``ns/name@version#digest``; the engine ``ns/name@version``."""
    placement.forget_warm(invoker_id, key.partition("#")[0])


def _pool(backend: ContainerBackend, config: ControllerConfig,
          memory_mb: int | None = None) -> ContainerPool:
    return ContainerPool(backend, memory_mb=memory_mb or config.invoker_memory_mb)


def _node_store(config: ControllerConfig, id: str) -> NodeStore:
    return NodeStore(config.node_store / id, capacity_bytes=config.node_store_cap, by=id)


def _local_invokers(backend: ContainerBackend, config: ControllerConfig,
                    blobs: BlobStore) -> list[Invoker]:
    """``--fleet`` members with their attributes, else ``--invokers`` plain local invokers;
    each with its node store, staging from and uploading to ``blobs``."""
    if not config.fleet:
        return [LocalInvoker(f"local{i}", _pool(backend, config), backend.kinds,
                             store=_node_store(config, f"local{i}"), blobs=blobs)
                for i in range(config.invokers)]
    return [
        LocalInvoker(m.id, _pool(backend, config, m.memory_mb),
                     backend.kinds if m.kinds is None else m.kinds & backend.kinds,
                     namespaces=m.namespaces, attributes=m.attributes,
                     store=_node_store(config, m.id), blobs=blobs)
        for m in config.fleet
    ]
