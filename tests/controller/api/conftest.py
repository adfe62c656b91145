"""Fixtures: one real controller per test module (SQLite under a temporary folder), a client
with the guest key, and a second namespace created with the admin command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Client, Controller, create_namespace, started


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("controller") / "data"


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    yield from started(data_dir)


@pytest.fixture(scope="module")
def other_key(controller: Controller, data_dir: Path) -> str:
    return create_namespace(["--data", str(data_dir)], "other")


@pytest.fixture
def guest(controller: Controller) -> Iterator[Client]:
    with controller.client() as client:
        yield client


@pytest.fixture
def other(controller: Controller, other_key: str) -> Iterator[Client]:
    with controller.client(other_key) as client:
        yield client
