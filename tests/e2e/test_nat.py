"""The topology itself: the edges reach the cloud through the NAT, nothing reaches the edges.

These tests prove the harness the tunnel tests stand on: if an inbound connection could
succeed here, "the device never opens an inbound port" would prove nothing.
"""

from __future__ import annotations

import ssl

import pytest

from e2e import netns
from e2e.tls import Certificates


@pytest.mark.parametrize("edge_index", [0, 1], ids=["edge1", "edge2"])
def test_an_edge_reaches_the_cloud_behind_the_routers_address(
        topology: netns.Topology, edge_index: int) -> None:
    edge = topology.edges[edge_index]
    with netns.Listener(topology.cloud) as listener:
        assert netns.tcp_connects(edge, topology.cloud.address, listener.port)
        # masqueraded: the cloud saw the router's address, never the edge's
        assert listener.wait_for(1) == [topology.router_cloud_address]


@pytest.mark.parametrize("edge_index", [0, 1], ids=["edge1", "edge2"])
def test_no_inbound_connection_from_the_cloud_reaches_an_edge(
        topology: netns.Topology, edge_index: int) -> None:
    edge = topology.edges[edge_index]
    with netns.Listener(edge) as listener:
        # the listener is alive: the edge itself connects to it
        assert netns.tcp_connects(edge, edge.address, listener.port)
        assert listener.wait_for(1) == [edge.address]
        before = topology.inbound_drops()
        assert not netns.tcp_connects(topology.cloud, edge.address, listener.port, 0.5)
        assert not netns.tcp_connects(topology.cloud, topology.router_cloud_address,
                                      listener.port, 0.5)
        assert listener.wait_for(2, 0.5) == [edge.address]  # only the edge's own connection
    assert topology.inbound_drops() > before  # dropped by the router's rule, not unrouted


def test_a_cut_uplink_drops_silently_and_restoring_it_reconnects(
        topology: netns.Topology) -> None:
    edge1, edge2 = topology.edges
    with netns.Listener(topology.cloud) as listener:
        topology.cut(edge1)
        assert not netns.tcp_connects(edge1, topology.cloud.address, listener.port, 0.5)
        assert netns.tcp_connects(edge2, topology.cloud.address, listener.port)
        topology.restore(edge1)
        assert netns.tcp_connects(edge1, topology.cloud.address, listener.port)
        assert len(listener.wait_for(2)) == 2


def test_an_edge_verifies_the_cloud_certificate_against_the_test_ca(
        topology: netns.Topology, certificates: Certificates) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(certificates.cert, certificates.key)
    listener = topology.cloud.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    client_context = ssl.create_default_context(cafile=str(certificates.ca))
    client = topology.edges[0].socket()
    try:
        client.settimeout(5)
        client.connect((topology.cloud.address, port))
        conn, _ = listener.accept()
        with server_context.wrap_socket(conn, server_side=True,
                                        do_handshake_on_connect=False) as server:
            server.setblocking(False)
            tls = client_context.wrap_socket(client, server_hostname=topology.cloud.address,
                                             do_handshake_on_connect=False)
            _handshake(tls, server)
            peer = tls.getpeercert()
            assert peer is not None
            assert peer["subjectAltName"] == (("IP Address", "10.77.0.1"),
                                                             ("IP Address", "127.0.0.1"))
            tls.close()
    finally:
        client.close()
        listener.close()


def _handshake(client: ssl.SSLSocket, server: ssl.SSLSocket) -> None:
    """Both handshakes driven alternately on one thread (bounded)."""
    client.setblocking(False)
    done = {"client": False, "server": False}
    for _ in range(1000):
        for name, sock in (("client", client), ("server", server)):
            if done[name]:
                continue
            try:
                sock.do_handshake()
                done[name] = True
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        if all(done.values()):
            return
    raise AssertionError("TLS handshake did not complete")
