"""``make lint`` covers the whole tree, and CI runs it before the tests.

Why a test: the Makefile names folders and packages by hand, so a package added to setup.cfg
or a new Python folder would otherwise go unchecked without anybody noticing.
"""

from __future__ import annotations

import configparser
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRICT = ("actions/edgewhisk", "controller_plugin/edgewhisk_tunnel")
"""The SDK and the tunnel's wire schema: checked with ``mypy --strict``."""


def _lint_commands() -> list[list[str]]:
    """The ruff and mypy command lines ``make lint`` would run (``make -n``: nothing runs)."""
    out = subprocess.run(["make", "-n", "--no-print-directory", "lint"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [shlex.split(line) for line in out.splitlines()
            if line.startswith((".venv/bin/ruff", ".venv/bin/mypy"))]


def _command(tool: str, *, strict: bool) -> list[str]:
    found = [c for c in _lint_commands()
             if c[0].endswith(tool) and ("--strict" in c) == strict]
    assert len(found) == 1, f"make lint should run {tool} once (strict={strict}): {found}"
    return found[0]


def test_mypy_checks_every_package_setup_cfg_lists() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options"]["package_dir"].strip().splitlines()
    folders = {line.split("=")[1].strip() for line in lines if "=" in line}
    assert folders - set(_command("mypy", strict=False)) == set()


def test_mypy_strict_checks_the_sdk_and_the_tunnel_schema() -> None:
    assert set(STRICT) <= set(_command("mypy", strict=True))


def test_ruff_checks_every_folder_holding_python() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    folders = {Path(path).parts[0] for path in tracked if len(Path(path).parts) > 1}
    assert folders - set(_command("ruff", strict=False)) == set()


def test_ci_lints_before_it_tests() -> None:
    """Lint first (it fails in seconds), then the README's test command, then the fleet."""
    steps = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.startswith("make ")]
    assert steps == ["make lint", "make test", "make test-fleet"]
