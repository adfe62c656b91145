"""A real agent process (``edgewhisk invoker ...``) for the functional tests.

``AgentProcess`` is :class:`edgewhisk_devkit.Agent` with the tests' conventions: its log in the
test's folder, the token given, 60 s to stop before SIGKILL (its descendants too). Its stdout
lines (``REGISTERED ...``) are collected by the devkit's reader thread; ``descendants`` and
``alive`` (from /proc) let a test check that no container is left behind.
"""

from __future__ import annotations

import time
from pathlib import Path

from edgewhisk_devkit import Agent, alive, descendants
from edgewhisk_devkit import edgewhisk_command as edgewhisk

__all__ = ["HELLO", "AgentProcess", "alive", "descendants", "edgewhisk"]

STOP_TIMEOUT_S = 60.0
HELLO = "def main(args):\n    print('hello from', args.get('name'))\n" \
        "    return {'greeting': 'hello ' + args.get('name', '?')}\n"


class AgentProcess(Agent):
    """``edgewhisk invoker --controller URL FLAGS...`` with ``token``, logging into
    ``log_dir``; ``env`` adds to this process's environment."""

    def __init__(self, log_dir: Path, controller: str, token: str, *flags: str,
                 env: dict[str, str] | None = None) -> None:
        super().__init__(controller, token, *flags, env=env, stop_timeout_s=STOP_TIMEOUT_S,
                         log=log_dir / f"agent-{time.monotonic_ns()}.log")
