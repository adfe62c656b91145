"""Fixtures of the personal-assistant example tests.

The example actions are plain files (packaged as zips with their sibling `glucose.py`), not an
import package, so the tests put their folder on sys.path the way the runtime's zip does. The
demo runs once per session (``demo_run``): its output tests and the artifact-flow proof read
the same run.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "actions" / "examples" / "personal_assistant"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

import glucose  # noqa: E402


@pytest.fixture(scope="session")
def population_split() -> tuple[dict, dict]:
    """The population set the base model trains on, split into train and held-out parts."""
    return glucose.split(glucose.population(seed=0))


@pytest.fixture(scope="session")
def base_net(population_split):
    """A base classifier trained once per session on the population training part."""
    train, _ = population_split
    net = glucose.build_net(seed=0)
    glucose.train(net, train["X"], train["y"], seed=0)
    return net


@dataclass(frozen=True)
class DemoRun:
    """One real ``edgewhisk demo --workdir W`` run: what it printed and what it left in W
    (the controller's state, each node's store and every log; its processes are gone)."""

    done: subprocess.CompletedProcess[str]
    workdir: Path

    @property
    def controller(self) -> Path:
        return self.workdir / "controller"

    @property
    def blob_log(self) -> Path:
        """The controller's blob store access log."""
        return self.controller / "blobs-access.log"

    def store(self, node: str) -> Path:
        """A node's store (``--store``): ``index.json``, ``access.log``, ``blobs/``."""
        return self.workdir / "stores" / node


def edgewhisk(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``edgewhisk ARGS`` as a user runs it (the venv's script), output captured."""
    script = Path(sys.executable).with_name("edgewhisk")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "edgewhisk_cli.main"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The demo, run once for the demo's output tests and the artifact-flow proof."""
    workdir = tmp_path_factory.mktemp("demo")
    return DemoRun(edgewhisk("demo", "--workdir", str(workdir)), workdir)
