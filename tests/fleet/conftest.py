"""The fleet test's session sweep: whatever a crashed fixture left of this run (containers,
namespaces) is removed, and the test fails if there was any. Needs root, podman, ``ip``,
``nft``, Node.js and pouchdb-server (`make test` installs them) and the ``ansible`` package
(the test extra: ansible-core with the containers.podman and community.crypto collections)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import netns

from fleet.hosts import remove_containers


@pytest.fixture(scope="session", autouse=True)
def _sweep_fleet() -> Iterator[None]:
    yield
    containers = remove_containers(netns.run_prefix())
    namespaces = netns.sweep(netns.run_prefix())
    left = containers + namespaces
    assert not left, f"left behind (now removed): {left}"
