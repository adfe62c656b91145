"""``edgewhisk runtime`` and ``python -m edgewhisk_runtime``: the commands start and explain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")

ROWS = [
    ("python -m edgewhisk_runtime serve --help lists the serve options",
     [sys.executable, "-m", "edgewhisk_runtime", "serve", "--help"],
     ["--port", "--host", "--artifacts", "--max-zip-bytes", "--max-zip-entries"]),
    ("edgewhisk runtime --help lists serve and image",
     [str(EDGEWHISK), "runtime", "--help"], ["serve", "image"]),
    ("edgewhisk runtime image --help is answered by the images module",
     [str(EDGEWHISK), "runtime", "image", "--help"], ["build"]),
]


@pytest.mark.parametrize("argv, words", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_help(argv: list[str], words: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert all(w in done.stdout for w in words), done.stdout
