"""``edgewhisk demo`` from an installed wheel, and ``edgewhisk bench`` saying that it needs a
source checkout.

The wheel is built from a copy of the sources setup.cfg names (``pip wheel --no-deps``, so the
checkout itself gets no build/ or egg-info) and installed into a fresh virtual environment that
has no edgewhisk of its own; its dependencies (aiohttp, numpy, MXNet...) are the test
environment's, made visible by a ``.pth`` line (no network, no second copy). Then, from a folder
that is not the checkout: the demo finds every example action inside the installed package and
runs end to end (one user, few readings: ~20 s), and ``edgewhisk bench`` refuses with exit
status 2 and the reason.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
METADATA = ("setup.cfg", "pyproject.toml", "README.md")
EXAMPLE_FILES = {"collect.py", "train_base.py", "refine.py", "predict.py", "glucose.py"}


def _sources(into: Path) -> Path:
    """The files a wheel is built from: the metadata and every package folder of setup.cfg."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    into.mkdir()
    for name in METADATA:
        shutil.copy2(ROOT / name, into / name)
    for line in cfg["options"]["package_dir"].strip().splitlines():
        folder = line.split("=")[1].strip()
        shutil.copytree(ROOT / folder, into / folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return into


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; its ``bin`` folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = _sources(work / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(work / "dist"), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("edgewhisk-*.whl")
    target = work / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "-q", "--no-deps", str(wheel)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True, check=True).stdout
    # the dependencies: this environment's site-packages, after the venv's own
    Path(site.strip(), "test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return target / "bin"


def _run(installed: Path, *args: str, cwd: Path, timeout: float = 300
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(installed / args[0]), *args[1:]], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def test_the_demo_finds_every_example_inside_the_installed_package(installed: Path,
                                                                   tmp_path: Path) -> None:
    done = _run(installed, "python", "-c",
                "from edgewhisk_cli.demo import EXAMPLES; print(EXAMPLES)", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    examples = Path(done.stdout.strip())
    assert examples.is_relative_to(installed.parent) and not examples.is_relative_to(ROOT)
    assert EXAMPLE_FILES <= {p.name for p in examples.glob("*.py")}


@pytest.mark.mxnet  # the demo's actions run MXNet
def test_the_demo_runs_end_to_end_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, "edgewhisk", "demo", "--users", "u1", "--readings", "100",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-6000:]
    assert "u1/glucose-model@1 (local): bytes written only to u1-phone: never left it" \
        in done.stdout
    assert str(ROOT) not in done.stdout + done.stderr


def test_bench_says_it_needs_a_source_checkout(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, "edgewhisk", "bench", "tunnel", "--quick", cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("edgewhisk bench: needs a source checkout: ")
    assert "bench/ folder" in done.stderr and done.stdout == ""
