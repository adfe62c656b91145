"""``edgewhisk controller``: serve the API; ``edgewhisk controller namespace create``: add a key.

Serving prints two machine-readable lines on stdout once the socket is bound and the store is
open (``APIHOST=http://host:port`` and ``AUTH=uuid:key``, the guest key, empty when there is
none: off loopback without ``--guest``), so scripts and tests can wait for them; logs go to
stderr. Off loopback it refuses to serve plain HTTP unless told ``--insecure``. SIGTERM and
SIGINT shut it down cleanly: running activations finish (or are recorded as aborted), every
container is destroyed, the store closes. ``namespace create`` is ``wskadmin user create``: it
prints the new key once (the store keeps only its hash); with ``--admin`` that key manages every
namespace through the API.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import ssl
import sys
from pathlib import Path

from aiohttp import web
from edgewhisk_runtime.artifacts.store import parse_size

from . import eventloop
from .auth import GUEST_KEY, create_namespace
from .config import BACKENDS, ControllerConfig
from .exceptions import ControllerError
from .invokers.fleet import load_fleet
from .observe.audit import audit
from .observe.logs import FORMATS
from .observe.logs import configure as configure_logs
from .placement.config import PlacementConfig, load_config
from .schema.limits import NamespaceLimits, load_namespace_limits
from .stores import StoreError, open_store

log = logging.getLogger("edgewhisk_controller")

REQUEST_GRACE_S = 5.0
"""At shutdown, requests in flight get this long to finish (a blocking invoke then answers or
is cut off); the dispatcher then gives running activations its own grace and records the rest."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = ControllerConfig()
    parser.add_argument("--port", type=int, default=defaults.port,
                        help="port to listen on (0: any free port; default %(default)s)")
    parser.add_argument("--host", default=defaults.host, help="address to bind")
    _store_arguments(parser, str(defaults.data), None)
    parser.add_argument("--invokers", type=int, default=defaults.invokers,
                        help="local invokers, each with its own container pool")
    parser.add_argument("--backend", choices=BACKENDS, default=defaults.backend,
                        help="how local invokers run actions")
    parser.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                        help="process backend: run actions without bubblewrap, as this user "
                             "and seeing its files; the local invokers then serve one "
                             "namespace only")
    parser.add_argument("--invoker-memory", type=int, default=defaults.invoker_memory_mb,
                        metavar="MB", help="memory of each local invoker's pool")
    parser.add_argument("--docker-url", default=None,
                        help="Docker Engine API for --backend docker (default: DOCKER_HOST)")
    parser.add_argument("--python-image", default=None, metavar="IMAGE",
                        help="image of python:3 actions for --backend docker "
                             "(default localhost/edgewhisk/python3-ai:latest)")
    parser.add_argument("--api-host", default=None,
                        help="API host given to actions (default: the listening address)")
    parser.add_argument("--tls-cert", default=None, metavar="PEM",
                        help="certificate chain: serve HTTPS, and WSS for edge invokers")
    parser.add_argument("--tls-key", default=None, metavar="PEM",
                        help="the private key of --tls-cert")
    parser.add_argument("--heartbeat-timeout", type=float, default=defaults.heartbeat_timeout_s,
                        metavar="S", help="an edge invoker without a heartbeat this long is "
                                          "offline (default %(default)s, as OpenWhisk)")
    parser.add_argument("--reconnect-cap", type=float, default=defaults.reconnect_cap_s,
                        metavar="S", help="the edge agents' longest reconnect backoff (their "
                                          "--backoff-cap): after a restart or a takeover, "
                                          "their runs wait the heartbeat timeout plus this "
                                          "for them to register again (default %(default)s)")
    parser.add_argument("--fleet", default=None, metavar="FILE",
                        help="JSON list of local invokers with placement attributes "
                             "(role, site, labels, capabilities, networks, owner); "
                             "replaces --invokers")
    parser.add_argument("--placement-config", default=None, metavar="FILE",
                        help="JSON placement configuration (weights, sites' latencies)")
    parser.add_argument("--blobs", default=None, metavar="URL",
                        help="artifact blob store: a folder or s3://BUCKET?endpoint_url=URL "
                             "(credentials from the AWS environment; default DIR/blobs)")
    parser.add_argument("--artifact-max-size", type=int, default=defaults.artifact_max_size,
                        metavar="BYTES", help="largest artifact upload (default %(default)s)")
    parser.add_argument("--node-store-cap", type=parse_size, default=defaults.node_store_cap,
                        metavar="BYTES", help="bytes of artifacts each local invoker keeps in "
                        "its node store, DIR/node-store/ID (e.g. 2GB; default %(default)s)")
    parser.add_argument("--composer-redis", default=None, metavar="URI",
                        help="the Redis (redis://HOST:PORT) Composer's parallel and map "
                             "combinators use: compositions get it as $composer.redis unless "
                             "their parameters name one")
    parser.add_argument("--cluster-redis", default=None, metavar="URI",
                        help="work as one with the other controllers on the same --db: the "
                             "Redis (redis://HOST:PORT) through which they route activations "
                             "to the controller holding a device's tunnel")
    parser.add_argument("--cluster-id", default=None, metavar="ID",
                        help="this controller's name in the cluster (default: HOST-PORT)")
    parser.add_argument("--cluster-shard", action="store_true",
                        help="hand an action invoke to the live controller owning its "
                             "namespace (consistent hashing), which places it and answers")
    parser.add_argument("--no-read-cache", dest="read_cache", action="store_false",
                        help="benchmark only: in a cluster, read actions and packages from "
                             "the store on every invoke instead of a cache the changes feed "
                             "keeps current")
    parser.add_argument("--no-durable-ack", dest="durable", action="store_false",
                        help="benchmark only: answer invokes before their activations are "
                             "stored (a crash then loses acknowledged work)")
    parser.add_argument("--no-metrics", dest="metrics", action="store_false",
                        help="benchmark only: no /metrics, no series recorded")
    parser.add_argument("--no-explain", dest="explain", action="store_false",
                        help="benchmark only: records carry no placement explanation")
    _safety_arguments(parser, defaults)
    eventloop.add_argument(parser)
    parser.add_argument("--log-level", default="INFO", help="logging level on stderr")
    parser.add_argument("--log-format", choices=FORMATS, default="text",
                        help="stderr as text lines or one JSON object per line")
    sub = parser.add_subparsers(dest="controller_command", metavar="COMMAND")
    namespace = sub.add_parser("namespace", help="manage namespaces and their keys")
    ns_sub = namespace.add_subparsers(dest="namespace_command", metavar="ACTION", required=True)
    create = ns_sub.add_parser("create", help="create a namespace and print its new key")
    create.add_argument("name", help="the namespace name")
    create.add_argument("--admin", action="store_true",
                        help="make its key an admin key, which manages every namespace through "
                             "the API (edgewhisk namespace ...)")
    _store_arguments(create, argparse.SUPPRESS, argparse.SUPPRESS)


def _safety_arguments(parser: argparse.ArgumentParser, defaults: ControllerConfig) -> None:
    """What keeps a controller safe to expose: TLS or --insecure, the guest key, the limits of
    each namespace, and how long a request body may take."""
    limits = defaults.limits
    parser.add_argument("--insecure", action="store_true",
                        help="serve plain HTTP off loopback (refused without TLS otherwise)")
    parser.add_argument("--guest", action="store_true",
                        help="create OpenWhisk's well-known guest key also off loopback")
    parser.add_argument("--invocations-per-minute", type=int,
                        default=limits.invocations_per_minute, metavar="N",
                        help="invokes a namespace may make per minute (else 429; default "
                             "%(default)s, as OpenWhisk)")
    parser.add_argument("--concurrent-invocations", type=int,
                        default=limits.concurrent_invocations, metavar="N",
                        help="activations a namespace may have in flight (default %(default)s)")
    parser.add_argument("--fires-per-minute", type=int, default=limits.fires_per_minute,
                        metavar="N", help="trigger fires a namespace may make per minute "
                                          "(default %(default)s)")
    parser.add_argument("--namespace-limits", default=None, metavar="FILE",
                        help='JSON of limits per namespace, e.g. {"alice": '
                             '{"invocationsPerMinute": 600}} (OpenWhisk\'s field names)')
    parser.add_argument("--body-timeout", type=float, default=defaults.body_timeout_s,
                        metavar="S", help="a request body must arrive within S seconds, plus "
                        "1 s per --body-min-rate bytes received (else 408; default %(default)s)")
    parser.add_argument("--body-min-rate", type=parse_size, default=defaults.body_min_rate,
                        metavar="BYTES", help="bytes per second a slow body must keep up "
                        "(e.g. 64KB; default %(default)s)")


def _store_arguments(parser: argparse.ArgumentParser, data: str, db: str | None) -> None:
    """Where the state is; on ``namespace create`` too (SUPPRESS keeps the parent's value)."""
    parser.add_argument("--data", default=data, metavar="DIR",
                        help="state folder (SQLite store, artifacts; default ./.edgewhisk)")
    parser.add_argument("--db", default=db, metavar="URL",
                        help="CouchDB URL (http://user:pass@host:5984); default SQLite in DIR")


def run(args: argparse.Namespace) -> int:
    configure_logs(args.log_level, args.log_format)
    if args.controller_command == "namespace":
        return asyncio.run(_create_namespace(args.db or Path(args.data), args.name,
                                              args.admin))
    try:
        limits = NamespaceLimits(args.invocations_per_minute, args.concurrent_invocations,
                                 args.fires_per_minute)
        config = ControllerConfig(
            host=args.host, port=args.port, data=Path(args.data), db=args.db,
            invokers=args.invokers, backend=args.backend, sandbox=args.sandbox,
            invoker_memory_mb=args.invoker_memory,
            docker_url=args.docker_url, python_image=args.python_image, api_host=args.api_host,
            tls_cert=Path(args.tls_cert) if args.tls_cert else None,
            tls_key=Path(args.tls_key) if args.tls_key else None,
            insecure=args.insecure, guest=args.guest,
            heartbeat_timeout_s=args.heartbeat_timeout, reconnect_cap_s=args.reconnect_cap,
            blobs=args.blobs, artifact_max_size=args.artifact_max_size,
            node_store_cap=args.node_store_cap, durable=args.durable,
            metrics=args.metrics, explain=args.explain,
            body_timeout_s=args.body_timeout, body_min_rate=args.body_min_rate,
            composer_redis=args.composer_redis,
            cluster_redis=args.cluster_redis, cluster_id=args.cluster_id,
            read_cache=args.read_cache, cluster_shard=args.cluster_shard,
            limits=limits, namespace_limits=load_namespace_limits(args.namespace_limits, limits)
            if args.namespace_limits else {},
            fleet=load_fleet(args.fleet) if args.fleet else (),
            placement=load_config(args.placement_config) if args.placement_config
            else PlacementConfig(),
        )
    except ValueError as exc:  # ConfigError included
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return eventloop.run(serve(config), args.loop)


async def serve(config: ControllerConfig) -> int:
    """Serve until SIGTERM/SIGINT; 1 if the controller could not start."""
    from .app import create_app  # imports the dispatcher and invokers: only when serving
    from .middleware.protocol import Runner

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        tls = _tls_context(config)
    except (OSError, ssl.SSLError) as exc:
        print(f"error: cannot load the TLS certificate/key: {exc}", file=sys.stderr)
        return 1
    try:
        sock = _bind(config.host, config.port)
    except OSError as exc:
        print(f"error: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    runner = Runner(create_app(config, port=port), access_log=None,
                    shutdown_timeout=REQUEST_GRACE_S)
    try:
        try:
            await runner.setup()  # opens the store, the backend, the invokers
            await web.SockSite(runner, sock, ssl_context=tls).start()
        except Exception as exc:  # whatever a backend raises: report it, do not trace back
            log.debug("start-up failed", exc_info=True)
            print(f"error: the controller could not start: {exc!r}", file=sys.stderr)
            return 1
        print(f"APIHOST={config.url(port)}\nAUTH={GUEST_KEY if config.guest_enabled else ''}",
              flush=True)
        if not config.guest_enabled:
            log.info("no guest key off loopback: create a namespace and its key with "
                     "`edgewhisk controller namespace create NAME` (or start with --guest)")
        log.info("listening on %s:%d (store %s)", config.host, port, config.store_location)
        await stop.wait()
        log.info("shutting down")
        return 0
    finally:
        await runner.cleanup()
        sock.close()


def _tls_context(config: ControllerConfig) -> ssl.SSLContext | None:
    """The server's TLS context for ``--tls-cert/--tls-key`` (None: plain HTTP)."""
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def _create_namespace(location: str | Path, name: str, admin: bool) -> int:
    try:
        async with open_store(location) as store:
            key = await create_namespace(store, name, admin=admin)
    except (ControllerError, StoreError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    audit("namespace.create", namespace=name, by="edgewhisk controller namespace create")
    print(key, flush=True)
    return 0
