"""``edgewhisk bench soak``: the long soak's command. Its scenario is ``tests/soak``'s, which the
default run exercises (``tests/soak/test_soak.py``); here, that the command is there and that
bad input is refused before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EDGEWHISK = Path(sys.executable).with_name("edgewhisk")


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EDGEWHISK), "bench", "soak", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_the_command_describes_itself() -> None:
    done = _bench("--help")
    assert done.returncode == 0, done.stderr
    assert "--minutes" in done.stdout and "--loopback" in done.stdout


@pytest.mark.parametrize("args, message", [
    pytest.param(("--minutes", "0"), "--minutes must be positive", id="no minutes"),
    pytest.param(("--minutes", "-1"), "--minutes must be positive", id="negative minutes"),
    pytest.param(("--clients", "0"), "--clients at least 1", id="no clients"),
    pytest.param(("--minutes", "ten"), "invalid float value", id="minutes that are no number"),
])
def test_bad_input_is_refused_before_anything_starts(args: tuple[str, ...], message: str) -> None:
    done = _bench(*args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "soak:" not in done.stderr, "nothing started"
