"""``edgewhisk invoker``: run the edge agent, or manage device tokens.

    edgewhisk invoker --controller wss://HOST:PORT --token TOKEN [--id ID] [--label k=v ...]
        [--capability gpu ...] [--network NAME ...] [--network-schedule T:+NAME ...]
        [--site NAME] [--owner USER] [--role edge|cloud] [--memory MB]
        [--backend process|docker] [--ca-file PEM] [--battery-sim k=v,... | --no-battery]
        [--idle-after S] [--metered-network NAME ...]
        [--store DIR [--store-cap 2GB]] [--networks-file PATH]
        [--offline-dir DIR [--local-api SOCKET] [--local-port PORT] [--api-key UUID:KEY]]
    edgewhisk invoker token create --id ID [--namespace NS] [--apihost H] [--auth K] [--json]
    edgewhisk invoker token ls [--namespace NS] [--json]
    edgewhisk invoker token revoke ID [--namespace NS] [--json]

The agent prints one line on stdout each time it registers (``REGISTERED id=... battery=...``,
or a JSON object with ``--json``),
logs on stderr, and exits 0 after SIGTERM/SIGINT (containers destroyed), 2 for bad flags and 3
when the controller refuses it for good (bad or revoked token, bad certificate, replaced).
``token create`` prints only the token (``--json``: the whole answer), so
``TOKEN=$(edgewhisk invoker token create --id pi)`` works.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from edgewhisk_client import Client, ClientError, wskprops
from edgewhisk_client.display import table, when
from edgewhisk_client.wskprops import add_api_arguments, require_api
from edgewhisk_runtime import eventloop, workdirs
from edgewhisk_runtime.artifacts.store import NodeStore
from edgewhisk_runtime.containers import ContainerBackend, ContainerPool, ProcessBackend
from edgewhisk_runtime.containers.sdk import import_docker
from edgewhisk_tunnel import PROTOCOL_VERSION, PROTOCOL_VERSIONS, Registered

from .agent import Agent
from .artifacts import DeviceArtifacts
from .config import (
    AgentConfig,
    default_id,
    parse_bytes,
    parse_labels,
    ssl_context,
    tunnel_urls,
)
from .context import (
    Battery,
    ContextMonitor,
    NetworkSchedule,
    NoBattery,
    choose_battery,
    parse_network_event,
    parse_sim_spec,
)
from .exceptions import ConfigError, Fatal, InvokerError
from .network_file import NetworkFile
from .offline_setup import Offline, open_offline
from .tokens import TokenApi

log = logging.getLogger("edgewhisk_invoker")

TOKEN_ENV = "EDGEWHISK_INVOKER_TOKEN"
API_KEY_ENV = "EDGEWHISK_API_KEY"
BATTERY_LABEL = "edgewhisk.battery"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--controller", action="append", default=[],
                        help="the controller, wss://HOST:PORT (ws:// only to a loopback "
                        "address; default: APIHOST of ~/.wskprops as wss://); given more than "
                        "once (or comma-separated), controllers sharing one store, tried in "
                        "turn when the connection fails")
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV),
                        help=f"this device's token (default: ${TOKEN_ENV})")
    parser.add_argument("--id", default=None, help="invoker id (default: the host name)")
    parser.add_argument("--namespace", default=None, help="the token's namespace (checked)")
    parser.add_argument("--label", action="append", default=[], metavar="K=V",
                        help="a label placement can match, e.g. site=plant-7 (repeatable)")
    parser.add_argument("--capability", action="append", default=[], metavar="NAME",
                        help="a capability of this device, e.g. gpu (repeatable)")
    parser.add_argument("--network", action="append", default=[], metavar="NAME",
                        help="a network joined at start")
    parser.add_argument("--network-schedule", action="append", default=[], metavar="T:±NAME",
                        help="join (+) or leave (-) NAME T seconds after start")
    parser.add_argument("--site", default="", help="the site this device is at (proximity)")
    parser.add_argument("--owner", default=None, help="the user owning this device")
    parser.add_argument("--role", choices=("edge", "cloud"), default="edge",
                        help="edge or cloud (placement's node=edge|cloud)")
    parser.add_argument("--memory", type=int, default=1024, metavar="MB",
                        help="memory for action containers (default 1024)")
    parser.add_argument("--bandwidth", type=float, default=None, metavar="MBPS",
                        help="the uplink's bandwidth, for transfer estimates (default: "
                             "placement's)")
    parser.add_argument("--cached", action="append", default=[], metavar="NS/NAME@VERSION",
                        help="an artifact already held on the device")
    parser.add_argument("--store", default=None, metavar="DIR",
                        help="the device's artifact store (node store); without it, "
                             "activations that consume or produce artifacts fail here")
    parser.add_argument("--store-cap", default="2GB", metavar="BYTES",
                        help="byte budget of --store, e.g. 500MB, 2GB (default 2GB)")
    parser.add_argument("--networks-file", default=None, metavar="PATH",
                        help="networks joined now, one a line, re-read every "
                             "--context-interval (a simulator, or written by the system's "
                             "network detection)")
    parser.add_argument("--offline-dir", default=None, metavar="DIR",
                        help="keep what the device needs to work cut off here: copies of "
                             "@policy.offline actions, records not synced yet, work waiting "
                             "for a network, the local API's key (local.key)")
    parser.add_argument("--local-api", default=None, metavar="SOCKET",
                        help="serve the local invoke API on this unix socket (needs "
                             "--offline-dir)")
    parser.add_argument("--local-port", type=int, default=None, metavar="PORT",
                        help="also serve it on 127.0.0.1:PORT")
    parser.add_argument("--api-key", default=os.environ.get(API_KEY_ENV), metavar="UUID:KEY",
                        help="the namespace key the local API forwards invokes with while "
                             f"connected (default: ${API_KEY_ENV}; without one, every local "
                             "invoke runs on the device)")
    parser.add_argument("--backend", choices=("process", "docker"), default="process",
                        help="how actions run: child processes, or containers (needs the "
                             "docker extra: pip install 'edgewhisk[docker]')")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="process backend: run actions without bubblewrap, as this user "
                             "and seeing its files (e.g. a device's own sensors); it then "
                             "serves one namespace only")
    parser.add_argument("--docker-url", default=None,
                        help="Docker Engine API for --backend docker (default: DOCKER_HOST)")
    parser.add_argument("--python-image", default=None,
                        help="image of python:3 actions for --backend docker")
    parser.add_argument("--ca-file", default=None, metavar="PEM",
                        help="CA bundle to trust for an HTTPS controller")
    battery = parser.add_mutually_exclusive_group()
    battery.add_argument("--battery-sim", nargs="?", const="", default=None, metavar="K=V,...",
                         help="simulate the battery (keys: level, idle, load, charge, period, "
                              "plugged; see edgewhisk_invoker.context)")
    battery.add_argument("--no-battery", action="store_true", help="mains powered")
    parser.add_argument("--context-interval", type=float, default=1.0, metavar="S",
                        help="how often battery and networks are sampled")
    parser.add_argument("--idle-after", type=float, default=None, metavar="S",
                        help="report idle once no activation ran for S seconds")
    parser.add_argument("--metered-network", action="append", default=None, metavar="NAME",
                        help="a metered network (repeatable): the device reports metered while "
                             "every network it joined is one")
    parser.add_argument("--protocol", type=int, choices=PROTOCOL_VERSIONS,
                        default=PROTOCOL_VERSION,
                        help="the tunnel protocol version to speak (1: to a controller that "
                             "predates version 2)")
    parser.add_argument("--grace", type=float, default=10.0, metavar="S",
                        help="on SIGTERM, how long running activations may finish")
    parser.add_argument("--backoff-cap", type=float, default=30.0, metavar="S",
                        help="the longest wait between reconnection attempts")
    parser.add_argument("--ws-heartbeat", type=float, default=5.0, metavar="S",
                        help="how often the WebSocket to the controller is pinged; a "
                             "controller that does not answer within half of it is left for "
                             "the next (a host or link gone sends no close)")
    parser.add_argument("--json", action="store_true",
                        help="print each registration as a JSON line instead of REGISTERED ...")
    eventloop.add_argument(parser)
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="logging level on stderr")
    sub = parser.add_subparsers(dest="invoker_command", metavar="token|logs")
    logs = sub.add_parser("logs", help="print an edge invoker's own log, through its tunnel")
    logs.add_argument("logs_id", metavar="ID", help="the edge invoker's id")
    logs.add_argument("-f", "--follow", action="store_true",
                      help="go on printing new lines, across its reconnects, until Ctrl-C")
    logs.add_argument("--tail", type=int, default=100, metavar="N",
                      help="start with its last N lines (default %(default)s)")
    logs.add_argument("--namespace", dest="logs_namespace", default="_",
                      help="namespace (default: the key's own, '_')")
    logs.add_argument("--ca-file", dest="logs_ca_file", default=None, metavar="PEM",
                      help="CA bundle to trust for an HTTPS controller")
    add_api_arguments(logs)
    token = sub.add_parser("token", help="create, list and revoke device tokens")
    verbs = token.add_subparsers(dest="token_command", required=True)
    for verb, help_text in (("create", "create a token (printed once)"),
                            ("ls", "list the namespace's tokens"),
                            ("revoke", "revoke a token and close its tunnel")):
        verb_parser = verbs.add_parser(verb, help=help_text)
        if verb == "create":
            verb_parser.add_argument("--id", dest="token_id", required=True,
                                     help="the invoker id the token is bound to")
        elif verb == "revoke":
            verb_parser.add_argument("token_id", metavar="ID", help="the invoker id")
        verb_parser.add_argument("--namespace", dest="token_namespace", default="_",
                                 help="namespace (default: the key's own, '_')")
        verb_parser.add_argument("--ca-file", dest="token_ca_file", default=None, metavar="PEM",
                                 help="CA bundle to trust for an HTTPS controller")
        add_api_arguments(verb_parser)


def run(args: argparse.Namespace) -> int:
    if args.invoker_command == "token":
        return _token(args)
    if args.invoker_command == "logs":
        return _logs(args)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config, monitor, ssl = _agent_setup(args)
        artifacts = _artifacts(args, config)
    except (ConfigError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return eventloop.run(_serve(args, config, monitor, ssl, artifacts), args.loop)


def _agent_setup(args: argparse.Namespace) -> tuple[AgentConfig, ContextMonitor, Any]:
    props = wskprops.load()
    given = args.controller or ([wskprops.api_url(props.apihost)] if props.apihost else [])
    if not given or not args.token:
        raise ConfigError(f"--controller (or APIHOST in {props.path}) and --token "
                          f"(or ${TOKEN_ENV}) are required")
    urls = tunnel_urls(given)
    url = urls[0]
    if len({u.partition("://")[0] for u in urls}) > 1:
        raise ConfigError("--controller: give every controller with the same scheme "
                          "(all wss:// or all ws://)")
    ssl = ssl_context(url, args.ca_file)
    battery: Battery
    if args.no_battery:
        battery = NoBattery()
    else:
        sim = None if args.battery_sim is None else parse_sim_spec(args.battery_sim)
        battery = choose_battery(sim)
    events = [parse_network_event(e) for e in args.network_schedule]
    networks = (NetworkSchedule(args.network, events) if args.networks_file is None else
                NetworkFile(Path(args.networks_file).expanduser(), args.network, events))
    if not args.ws_heartbeat > 0:
        raise ConfigError(f"--ws-heartbeat must be > 0 seconds, got {args.ws_heartbeat}")
    if args.idle_after is not None and not args.idle_after >= 0:
        raise ConfigError(f"--idle-after must be >= 0 seconds, got {args.idle_after}")
    monitor = ContextMonitor(battery, networks, tick_s=args.context_interval,
                             idle_after_s=args.idle_after,
                             metered_networks=args.metered_network)
    labels = {BATTERY_LABEL: battery.kind, **parse_labels(args.label)}
    config = AgentConfig(
        controller=url, token=args.token, id=args.id or default_id(), memory_mb=args.memory,
        namespace=args.namespace, labels=labels, capabilities=tuple(args.capability),
        site=args.site, owner=args.owner, role=args.role, bandwidth_mbps=args.bandwidth,
        cached=tuple(args.cached), grace_s=args.grace, backoff_cap_s=args.backoff_cap,
        ws_heartbeat_s=args.ws_heartbeat, controllers=urls if len(urls) > 1 else (),
        protocol=args.protocol)
    return config, monitor, ssl if ssl is not None else True


def _artifacts(args: argparse.Namespace, config: AgentConfig) -> DeviceArtifacts:
    if args.store is None:
        return DeviceArtifacts(None, config.id)
    root = Path(args.store).expanduser().resolve()
    store = NodeStore(root, capacity_bytes=parse_bytes(args.store_cap), by=config.id)
    return DeviceArtifacts(store, config.id)


def _workroot(args: argparse.Namespace) -> Path | None:
    """Where containers' work folders go: ``STORE/work`` (the node store's file system, so
    staging is a hard link), else the temporary folder."""
    return Path(args.store).expanduser().resolve() / "work" if args.store else None


def _sweep(args: argparse.Namespace) -> None:
    """Work folders an agent or runtime left when it died (``edgewhisk_runtime.workdirs``)."""
    root = _workroot(args)
    for removed in workdirs.sweep() + (workdirs.sweep(root) if root else []):
        log.info("removed the work folder %s of a process that is gone", removed)


def _backend(args: argparse.Namespace) -> ContainerBackend:
    if args.backend == "docker":
        docker = import_docker()  # a clear error naming the docker extra when it is absent
        from edgewhisk_runtime.containers.docker import DEFAULT_IMAGES, DockerBackend

        client = (docker.DockerClient(base_url=args.docker_url) if args.docker_url
                  else docker.from_env())
        images = dict(DEFAULT_IMAGES)
        if args.python_image:
            images["python:3"] = args.python_image
        return DockerBackend(client, images, workroot=_workroot(args))
    hidden = [Path(args.store).expanduser().resolve()] if args.store else []
    return ProcessBackend(workroot=_workroot(args), hidden=hidden,
                          sandbox=None if args.no_sandbox else "auto")


async def _serve(args: argparse.Namespace, config: AgentConfig, monitor: ContextMonitor,
                 ssl: Any, artifacts: DeviceArtifacts) -> int:
    _sweep(args)
    try:
        backend = _backend(args)
    except Exception as exc:  # whatever the docker SDK raises when the engine is absent
        print(f"error: backend {args.backend}: {exc}", file=sys.stderr)
        return 2

    def registered(message: Registered) -> None:
        event = {"event": "registered", "id": config.id, "controller": agent.url,
                 "battery": config.labels[BATTERY_LABEL], "heartbeat_s": message.heartbeat_s,
                 "offline_after_s": message.offline_after_s}
        print(json.dumps(event) if args.json else
              "REGISTERED " + " ".join(f"{k}={v}" for k, v in list(event.items())[1:]),
              flush=True)

    pool = ContainerPool(backend, memory_mb=config.memory_mb)
    try:
        offline: Offline | None = open_offline(args, config, artifacts, pool, monitor)
        if offline is not None:
            await offline.api.start()
            log.info("local API on %s", ", ".join(offline.api.where()))
    except (ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        await backend.close()
        return 2
    agent = Agent(config, pool, monitor, ssl=ssl, on_registered=registered,
                  artifacts=artifacts, offline=offline.work if offline else None)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent.stop, sig.name)
    try:
        await agent.serve()
    except Fatal as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if offline is not None:
            await offline.api.close()
        await backend.close()
    return 0


def _token(args: argparse.Namespace) -> int:
    api_url, auth = require_api(args)
    ns = args.token_namespace
    api = TokenApi(api_url, auth, ns, ca_file=args.token_ca_file)
    try:
        if args.token_command == "create":
            answer: Any = api.create(args.token_id)
            print(json.dumps(answer, indent=2) if args.json else answer.get("token", ""))
        elif args.token_command == "ls":
            answer = api.list()
            if args.json:
                print(json.dumps(answer, indent=2))
            else:
                print(table(("INVOKER", "NAMESPACE", "CREATED"),
                            [(item.get("id"), item.get("namespace", ns), when(item.get("created")))
                             for item in answer]))
        else:
            answer = api.revoke(args.token_id)
            print(json.dumps(answer, indent=2) if args.json else f"revoked {args.token_id}")
    except InvokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        api.close()
    return 0


def _logs(args: argparse.Namespace) -> int:
    """``edgewhisk invoker logs ID [--follow]``: the lines as they come; Ctrl-C ends it."""
    api_url, auth = require_api(args)
    with Client(api_url, auth, namespace=args.logs_namespace, ca_file=args.logs_ca_file) \
            as client:
        try:
            for line in client.invoker_logs(args.logs_id, tail=args.tail, follow=args.follow):
                print(line, flush=True)
        except ClientError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
    return 0
