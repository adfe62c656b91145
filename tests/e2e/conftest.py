"""Fixtures of the end-to-end tests: the NAT topology, a test CA, the controller and agents in it.

Every namespace a test builds is removed when the test ends (pass or fail); a session-end sweep
removes anything of this run (``ew<pid>t*``) that a crashed fixture might have left. Needs root,
``ip`` (iproute2), ``nft`` (nftables) and ``openssl``: `make host` installs them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e import netns
from e2e.tls import Certificates, make_certificates

TOOLS = {"ip": "iproute2", "nft": "nftables", "openssl": "openssl"}


@pytest.fixture(scope="session", autouse=True)
def _sweep_namespaces() -> Iterator[None]:
    missing = [f"{tool} (apt package {package})" for tool, package in TOOLS.items()
               if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the end-to-end tests need {', '.join(missing)}: run `make host`")
    yield
    left = netns.sweep(netns.run_prefix())
    assert not left, f"namespaces left behind (now removed): {left}"


@pytest.fixture
def topology() -> Iterator[netns.Topology]:
    """cloud, router (masquerading, inbound NEW dropped), edge1 and edge2; removed at the end."""
    built = netns.build(edges=2)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A test CA and a server certificate for the cloud namespace's address (and loopback)."""
    folder: Path = tmp_path_factory.mktemp("tls")
    return make_certificates(folder, ["10.77.0.1", "127.0.0.1"])
