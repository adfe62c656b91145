"""The folder tree is the architecture: setup.cfg must list every package in it, and the
SDK must import nothing of ours (DESIGN.md: the arrows go one way)."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = {"edgewhisk", "edgewhisk_cli", "edgewhisk_runtime", "edgewhisk_controller", "edgewhisk_invoker"}


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


def test_the_sdk_imports_nothing_of_ours() -> None:
    sdk = _package_dirs()["edgewhisk"]
    for path in sdk.rglob("*.py"):
        assert _imported_top_levels(path) & (OURS - {"edgewhisk"}) == set(), path


def test_the_runtime_imports_only_the_sdk_of_ours() -> None:
    runtime = _package_dirs()["edgewhisk_runtime"]
    for path in runtime.rglob("*.py"):
        assert _imported_top_levels(path) & (OURS - {"edgewhisk", "edgewhisk_runtime"}) == set(), path
