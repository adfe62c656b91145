"""The folder tree is the architecture: setup.cfg must list every package in it, and the
SDK must import nothing of ours (DESIGN.md: the arrows go one way)."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {
    "edgewhisk", "edgewhisk_cli", "edgewhisk_runtime", "edgewhisk_controller", "edgewhisk_invoker",
    "edgewhisk_tunnel", "edgewhisk_client", "edgewhisk_devkit", "edgewhisk_examples",
}


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def _package_dirs() -> dict[str, Path]:
    lines = _setup_cfg()["options"]["package_dir"].strip().splitlines()
    pairs = (line.split("=") for line in lines if line.strip())
    return {name.strip(): ROOT / folder.strip() for name, folder in pairs}


def _packages_on_disk() -> set[str]:
    found = set()
    for top, folder in _package_dirs().items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            found.add(".".join((top, *parts)))
    return found


def test_setup_cfg_lists_every_package_on_disk() -> None:
    listed = set(_setup_cfg()["options"]["packages"].split())
    assert _packages_on_disk() == listed


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


# DESIGN.md: the arrows go one way. The SDK and the tunnel schema import nothing of ours;
# the runtime only the SDK; nothing imports the controller; the CLI sits on top of everything.
ALLOWED_IMPORTS: dict[str, set[str]] = {
    "edgewhisk": set(),
    "edgewhisk_tunnel": set(),
    "edgewhisk_client": set(),
    "edgewhisk_runtime": {"edgewhisk"},
    "edgewhisk_examples": {"edgewhisk"},
    "edgewhisk_devkit": {"edgewhisk_client", "edgewhisk_runtime"},
    "edgewhisk_invoker": {"edgewhisk", "edgewhisk_runtime", "edgewhisk_tunnel",
                          "edgewhisk_client"},
    "edgewhisk_controller": {"edgewhisk", "edgewhisk_runtime", "edgewhisk_tunnel"},
    "edgewhisk_cli": OURS,
}


@pytest.mark.parametrize("package", sorted(_package_dirs()))
def test_a_package_imports_only_what_the_architecture_allows(package: str) -> None:
    assert package in ALLOWED_IMPORTS, f"add {package} to ALLOWED_IMPORTS"
    forbidden = OURS - ALLOWED_IMPORTS[package] - {package}
    for path in _package_dirs()[package].rglob("*.py"):
        assert _imported_top_levels(path) & forbidden == set(), path
