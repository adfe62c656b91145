"""The version is written once (``edgewhisk.__version__``) and every place that states one
reports it: the distribution's metadata, the CLI, the controller's API description
(tests/controller/api/test_auth.py), the agent's ``register`` (tests/invoker/test_agent.py)
and the runtime image's labels (tests/images/test_python3_ai.py)."""

from __future__ import annotations

import configparser
import importlib.metadata
from pathlib import Path

import edgewhisk
import pytest
from edgewhisk_cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def test_setup_cfg_reads_the_version_from_the_sdk() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["metadata"]["version"] == "attr: edgewhisk.__version__"


def test_the_installed_distribution_carries_the_sdk_version() -> None:
    assert importlib.metadata.version("edgewhisk") == edgewhisk.__version__


def test_edgewhisk_version_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"edgewhisk {edgewhisk.__version__}"
