"""``pip install edgewhisk`` works wherever its dependencies do.

- numpy is pinned below 1.24 only by the ``ai`` extra, which needs it for MXNet 1.9.1
  (``np.bool``); ``make test`` runs every test not marked ``mxnet`` in a venv installed without
  that extra, where numpy 2 resolves (the Makefile checks it), and the ``mxnet`` ones in ``.venv``.
- The docker backend's SDK is the ``docker`` extra; without it ``--backend docker`` says which
  extra to install instead of failing with a ``ModuleNotFoundError`` traceback.
- ``python_requires`` says what is true: 3.11 or newer (3.11 is the one version tested here).
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTRA = "pip install 'edgewhisk[docker]'"


def _setup() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def _requirements(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def test_numpy_is_pinned_below_1_24_only_by_the_ai_extra() -> None:
    cfg = _setup()
    extras = cfg["options.extras_require"]
    pins = {name: [r for r in _requirements(extras[name]) if r.startswith("numpy")]
            for name in extras}
    assert pins["ai"] == ["numpy>=1.23,<1.24"]
    assert all(not pinned for name, pinned in pins.items() if name != "ai")
    assert "numpy>=1.23" in _requirements(cfg["options"]["install_requires"])
    assert "mxnet==1.9.1" in _requirements(extras["ai"])


def test_python_requires_has_no_upper_bound() -> None:
    assert _setup()["options"]["python_requires"].strip() == ">=3.11"


def test_the_docker_sdk_is_an_extra_not_a_dependency() -> None:
    cfg = _setup()
    assert not any(r.startswith("docker") for r in
                   _requirements(cfg["options"]["install_requires"]))
    assert _requirements(cfg["options.extras_require"]["docker"]) == ["docker>=7.1"]


def test_the_mxnet_marker_is_registered() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    markers = config["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("mxnet:") for m in markers)


def test_this_run_has_the_numpy_the_makefile_chose_for_it(request: pytest.FixtureRequest) -> None:
    """``make test`` runs ``-m "not mxnet"`` on numpy 2 and ``-m mxnet`` on numpy 1.23; a run
    that deselects the mxnet tests must have numpy 2 (else the proof proved nothing)."""
    if request.config.getoption("markexpr") == "not mxnet":
        assert int(numpy.__version__.split(".")[0]) >= 2, numpy.__version__


# Runs the real entry point with the docker package made unimportable (``sys.modules`` maps a
# module to None to say it is absent: the import then raises ModuleNotFoundError, as on a
# plain install); everything else is the ordinary command.
WITHOUT_DOCKER = ("import sys; sys.modules['docker'] = None; "
                  "from edgewhisk_cli.main import main; sys.exit(main())")


@pytest.mark.parametrize("argv", [
    ["controller", "--port", "0", "--backend", "docker", "--invokers", "1"],
    ["invoker", "--controller", "ws://127.0.0.1:9", "--token", "t:s", "--backend", "docker",
     "--no-battery"],
], ids=["the controller", "an edge invoker"])
def test_backend_docker_without_the_sdk_names_the_extra(argv: list[str], tmp_path: Path) -> None:
    extra = ["--data", str(tmp_path / "data")] if argv[0] == "controller" else []
    done = subprocess.run([sys.executable, "-c", WITHOUT_DOCKER, *argv, *extra],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode in (1, 2), done.stderr
    assert EXTRA in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
