"""What the Composer flow tests share: a Redis for ``parallel``/``map`` (devkit's, on a free
port, stopped by pid), and compiling and deploying a composition with Composer's own tools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from controller.api.harness import Controller, composer
from edgewhisk_devkit import Redis


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    with Redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


def deploy(controller: Controller, name: str, flow: Path, folder: Path) -> None:
    """``compose FLOW > NAME.json`` and ``deploy NAME NAME.json -w``, as a user runs them."""
    (folder / f"{name}.json").write_text(composer("compose", str(flow), cwd=folder))
    composer("deploy", name, f"{name}.json", "-w", "--apihost", controller.api_host,
             "-u", controller.auth, cwd=folder)
