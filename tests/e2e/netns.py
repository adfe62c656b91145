"""A home-NAT topology built from network namespaces: the cloud, a router, two edge devices.

::

    cloud 10.77.0.1 --uplink/cloud-- router 10.77.0.2, 10.77.N.1 --edgeN/uplink-- edgeN 10.77.N.2

Why this shape: it is the situation the tunnel exists for. The edge namespaces' only route is
their default route through the router, which masquerades them behind its cloud-side address and
drops every NEW connection coming from the cloud side (forwarded or addressed to itself), as a
home router does. The cloud namespace even has a route to the edge subnets through the router,
so that "no inbound connection ever succeeds" is the router's doing and not a missing route.

Every interface is created inside a namespace (``ip -n NS link add ... peer ... netns OTHER``),
so the root namespace is never touched and names only have to be unique per namespace; the
namespaces themselves carry this run's prefix (``ew<pid>t<n>-``) so parallel sessions do not
collide and a session-end sweep can remove whatever one of its tests left.

Processes run inside with ``ip netns exec NS ...`` (which execs: the child's pid is the
command's pid, so it is stopped by that pid). The test process itself reaches into a namespace
through a thread that called ``setns(2)`` (per thread for the network namespace): sockets keep
the namespace they were created in, whichever thread uses them afterwards.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
STOP_TIMEOUT_S = 15.0
NFT_TABLE = "edgewhisk_nat"

_counter = 0
_counter_lock = threading.Lock()


def run_prefix() -> str:
    """The prefix of every namespace this process creates (the session sweep's key)."""
    return f"ew{os.getpid()}t"


def _next_prefix() -> str:
    global _counter
    with _counter_lock:
        _counter += 1
        return f"{run_prefix()}{_counter}-"


def ip(*args: str, input: str | None = None) -> str:
    """Run ``ip ARGS``; its stdout. Raises CalledProcessError with stderr on failure."""
    return _run(["ip", *args], input=input)


def _run(command: Sequence[str], input: str | None = None) -> str:
    done = subprocess.run(list(command), input=input, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, list(command), done.stdout,
                                            done.stderr)
    return done.stdout


def _setns(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_DIR / name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({name}): {os.strerror(errno)}")
    finally:
        os.close(fd)


class Namespace:
    """One network namespace: run commands in it, open sockets in it, call code in it."""

    def __init__(self, name: str, address: str) -> None:
        self.name = name
        self.address = address  # its address on the topology (what others dial)
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._sockets: concurrent.futures.ThreadPoolExecutor | None = None
        self.processes: list[subprocess.Popen[Any]] = []
        self.stoppers: list[Callable[[], object]] = []  # see adopt()
        self.prefix: tuple[str, ...] = ("ip", "netns", "exec", name)  # runs a command inside

    def __repr__(self) -> str:
        return f"Namespace({self.name!r}, {self.address})"

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on this namespace's own thread (sockets it opens live here)."""
        if self._executor is None:
            self._executor = self._thread()
        return self._executor.submit(fn, *args, **kwargs).result()

    def socket(self, kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A new IPv4 socket in this namespace (made on a thread of its own, so that a long
        :meth:`call` does not hold up a probe)."""
        if self._sockets is None:
            self._sockets = self._thread()
        return self._sockets.submit(socket.socket, socket.AF_INET, kind).result()

    def _thread(self) -> concurrent.futures.ThreadPoolExecutor:
        return self.threads(1)

    def threads(self, workers: int) -> concurrent.futures.ThreadPoolExecutor:
        """A pool of ``workers`` threads inside this namespace (concurrent clients, e.g. a
        load generator); the caller shuts it down."""
        return concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=self.name, initializer=_setns,
            initargs=(self.name,))

    def exec(self, *command: str) -> str:
        """Run a short command inside; its stdout (raises on failure)."""
        return _run(["ip", "netns", "exec", self.name, *command])

    def popen(self, command: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start a long-running child inside (``ip netns exec`` execs it: same pid).

        It leads its own process group so that :meth:`stop` also reaches what it started.
        """
        process = subprocess.Popen(["ip", "netns", "exec", self.name, *command],
                                   start_new_session=True, **kwargs)
        self.processes.append(process)
        return process

    def adopt(self, stop: Callable[[], object]) -> None:
        """Call ``stop`` when the namespace closes (before its own processes are stopped):
        for what was started inside by other means (the devkit's controller and agents)."""
        self.stoppers.append(stop)

    def stop(self, process: subprocess.Popen[Any]) -> int | None:
        """SIGTERM its group, wait, SIGKILL if it hangs; its exit status. Idempotent."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT_S)
        # whatever it left in its group (e.g. action processes) goes with it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.returncode

    def _stop_all(self) -> None:
        while self.stoppers:
            self.stoppers.pop()()
        for process in reversed(self.processes):
            self.stop(process)

    def close(self) -> None:
        """Stop every process started here, drop the thread, delete the namespace."""
        self._stop_all()
        for executor in (self._executor, self._sockets):
            if executor is not None:
                executor.shutdown(wait=True)
        self._executor = self._sockets = None
        delete_namespace(self.name)


class Host(Namespace):
    """The root namespace, for the parts of a test that talk over loopback only: commands run
    directly, :meth:`call` on the caller's thread, nothing to delete."""

    def __init__(self) -> None:
        super().__init__("host", "127.0.0.1")
        self.prefix = ()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs)

    def socket(self, kind: int = socket.SOCK_STREAM) -> socket.socket:
        return socket.socket(socket.AF_INET, kind)

    def threads(self, workers: int) -> concurrent.futures.ThreadPoolExecutor:
        return concurrent.futures.ThreadPoolExecutor(max_workers=workers,
                                                     thread_name_prefix="host")

    def popen(self, command: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        process = subprocess.Popen(list(command), start_new_session=True, **kwargs)
        self.processes.append(process)
        return process

    def close(self) -> None:
        self._stop_all()


def delete_namespace(name: str) -> None:
    """Kill what still runs inside and delete it (its veth ends go with it). Idempotent."""
    if not (NETNS_DIR / name).exists():
        return
    with contextlib.suppress(subprocess.CalledProcessError):
        for pid in ip("netns", "pids", name).split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    with contextlib.suppress(subprocess.CalledProcessError):
        ip("netns", "delete", name)


def sweep(prefix: str) -> list[str]:
    """Delete every namespace whose name starts with ``prefix``; the names deleted."""
    names = [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]
    mine = [name for name in names if name.startswith(prefix)]
    for name in mine:
        delete_namespace(name)
    return mine


@dataclass
class Topology:
    """The built topology; :meth:`close` removes all of it (safe to call twice)."""

    prefix: str
    cloud: Namespace
    router: Namespace
    edges: list[Namespace]
    router_cloud_address: str = "10.77.0.2"
    _closed: bool = field(default=False, repr=False)

    @property
    def namespaces(self) -> list[Namespace]:
        return [self.cloud, self.router, *self.edges]

    def edge_interface(self, edge: Namespace) -> str:
        """The router's interface towards ``edge``."""
        return f"edge{self.edges.index(edge) + 1}"

    def cut(self, edge: Namespace) -> None:
        """Silently drop everything between ``edge`` and the rest (a dead uplink: no RST, no
        ICMP, existing TCP connections just stop hearing from each other)."""
        self._nft(f"add element inet {NFT_TABLE} cut {{ {self.edge_interface(edge)} }}")

    def restore(self, edge: Namespace) -> None:
        """Undo :meth:`cut`; the router's connection tracking (NAT state) is intact."""
        self._nft(f"delete element inet {NFT_TABLE} cut {{ {self.edge_interface(edge)} }}")

    def inbound_drops(self) -> int:
        """Packets of NEW connections from the cloud side the router dropped so far."""
        out = self.router.exec("nft", "list", "counter", "inet", NFT_TABLE, "inbound_new")
        words = out.split()
        return int(words[words.index("packets") + 1])

    def _nft(self, command: str) -> None:
        self.router.exec("nft", command)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for namespace in reversed(self.namespaces):
            namespace.close()
        sweep(self.prefix)


def _ruleset(edge_ifaces: Sequence[str]) -> str:
    edges = ", ".join(f'"{name}"' for name in edge_ifaces)
    return f"""
table inet {NFT_TABLE} {{
    set cut {{ type ifname; }}
    counter inbound_new {{ }}
    chain forward {{
        type filter hook forward priority filter; policy drop;
        iifname @cut drop
        oifname @cut drop
        ct state established,related accept
        iifname {{ {edges} }} oifname "cloud" accept
        iifname "cloud" ct state new counter name inbound_new drop
    }}
    chain input {{
        type filter hook input priority filter; policy accept;
        iifname "cloud" ct state new counter name inbound_new drop
    }}
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "cloud" masquerade
    }}
}}
"""


def build(edges: int = 2) -> Topology:
    """Create the namespaces, links, addresses, routes and the router's rules.

    On any failure what was created so far is removed before the error propagates.
    """
    prefix = _next_prefix()
    cloud = Namespace(f"{prefix}cloud", "10.77.0.1")
    router = Namespace(f"{prefix}router", "10.77.0.2")
    edge_ns = [Namespace(f"{prefix}edge{n}", f"10.77.{n}.2") for n in range(1, edges + 1)]
    topology = Topology(prefix, cloud, router, edge_ns)
    try:
        for namespace in topology.namespaces:
            ip("netns", "add", namespace.name)
            ip("-n", namespace.name, "link", "set", "lo", "up")
        _link(cloud, "uplink", "10.77.0.1/24", router, "cloud", "10.77.0.2/24")
        ip("-n", cloud.name, "route", "add", "10.77.0.0/16", "via", "10.77.0.2")
        for n, edge in enumerate(edge_ns, start=1):
            _link(edge, "uplink", f"10.77.{n}.2/24", router, f"edge{n}", f"10.77.{n}.1/24")
            ip("-n", edge.name, "route", "add", "default", "via", f"10.77.{n}.1")
        router.exec("sysctl", "-qw", "net.ipv4.ip_forward=1")
        _run(["ip", "netns", "exec", router.name, "nft", "-f", "-"],
             input=_ruleset([f"edge{n}" for n in range(1, edges + 1)]))
    except BaseException:
        topology.close()
        raise
    return topology


def _link(a: Namespace, a_name: str, a_addr: str, b: Namespace, b_name: str,
          b_addr: str) -> None:
    ip("-n", a.name, "link", "add", a_name, "type", "veth", "peer", "name", b_name,
       "netns", b.name)
    for ns, name, addr in ((a, a_name, a_addr), (b, b_name, b_addr)):
        ip("-n", ns.name, "addr", "add", addr, "dev", name)
        ip("-n", ns.name, "link", "set", name, "up")


def tcp_connects(namespace: Namespace, address: str, port: int, timeout_s: float = 1.0) -> bool:
    """Whether a TCP connection from ``namespace`` to ``address:port`` is established."""
    sock = namespace.socket()
    try:
        sock.settimeout(timeout_s)
        sock.connect((address, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


class Listener:
    """A TCP listener inside a namespace that records the peer of every accepted connection.

    Accepting runs on a daemon thread until :meth:`close` (the socket's close ends ``accept``).
    """

    def __init__(self, namespace: Namespace, port: int = 0) -> None:
        self.sock = namespace.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", port))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.peers: list[str] = []
        self._accepted = threading.Condition()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return  # closed
            conn.close()
            with self._accepted:
                self.peers.append(peer[0])
                self._accepted.notify_all()

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[str]:
        """The peers once ``count`` connections were accepted (or what came in ``timeout_s``):
        a connect returns before the listener's thread has accepted."""
        with self._accepted:
            self._accepted.wait_for(lambda: len(self.peers) >= count, timeout_s)
            return list(self.peers)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(5)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
