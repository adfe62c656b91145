"""One real controller per module (SQLite in a temporary folder), as the API tests have."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..api.harness import Controller, started


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("controller") / "data"


@pytest.fixture(scope="module")
def controller(data_dir: Path) -> Iterator[Controller]:
    yield from started(data_dir)
