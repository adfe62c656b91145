"""``edgewhisk invoker`` as a child process: an edge agent dialling a controller's tunnel.

The device token goes in the agent's environment (``EDGEWHISK_INVOKER_TOKEN``), as a service
unit would pass it, never on its command line. The agent prints a ``REGISTERED ...`` line (or a
JSON object with ``--json``) each time the controller accepts it; :meth:`Agent.wait_registered`
waits for the n-th one and raises :class:`StartError` with the agent's log if it exits first or
the time runs out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from signal import SIGTERM, Signals

from .exceptions import StartError
from .process import STOP_TIMEOUT_S, Child, edgewhisk_command

TOKEN_ENV = "EDGEWHISK_INVOKER_TOKEN"
REGISTER_TIMEOUT_S = 60.0
REGISTERED = ("REGISTERED ", '{"event": "registered"')


def tunnel_url(api_host: str) -> str:
    """Where an agent dials a controller: its API host with ``ws://``/``wss://``."""
    return api_host.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


class Agent:
    """``edgewhisk invoker --controller URL [--id ID] OPTIONS...`` with ``token``; its stdout
    and stderr go to ``log``. ``controller`` may be several URLs (controllers sharing one
    store: one ``--controller`` each, tried in turn). The other options are :class:`Child`'s."""

    def __init__(self, controller: str | Sequence[str], token: str, *options: str, log: Path,
                 id: str | None = None, cwd: Path | None = None,
                 env: Mapping[str, str] | None = None, wrap: Sequence[str] = (),
                 own_group: bool = False, cleanup: bool = True,
                 stop_timeout_s: float = STOP_TIMEOUT_S) -> None:
        self.id = id
        named = ("--id", id) if id else ()
        urls = [controller] if isinstance(controller, str) else list(controller)
        dial = [arg for url in urls for arg in ("--controller", url)]
        self.child = Child(edgewhisk_command("invoker", *dial, *named, *options),
                           log, cwd=cwd, env={**(env or {}), TOKEN_ENV: token}, wrap=wrap,
                           own_group=own_group, cleanup=cleanup, stop_timeout_s=stop_timeout_s)

    def start(self) -> Agent:
        self.child.start()
        return self

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def lines(self) -> list[str]:
        """What it printed on stdout (its registrations)."""
        return self.child.lines

    def log(self) -> str:
        return self.child.log()

    def wait_registered(self, count: int = 1, timeout_s: float = REGISTER_TIMEOUT_S) -> str:
        """Its ``count``-th registration line, once printed."""
        def registered(lines: list[str]) -> list[str]:
            return [line for line in lines if line.startswith(REGISTERED)]

        if not self.child.wait_for(lambda lines: len(registered(lines)) >= count, timeout_s):
            status = self.child.poll()
            raise StartError(f"invoker {self.id or ''}: did not register ({count}); "
                             + (f"it exited with status {status}" if status is not None
                                else f"not within {timeout_s:.0f} s"),
                             self.log(), status, list(self.lines))
        return registered(self.lines)[count - 1]

    def wait_log(self, text: str, timeout_s: float = REGISTER_TIMEOUT_S) -> None:
        """Until its log holds ``text``; :class:`StartError` with the log after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log():
            if time.monotonic() > deadline:
                raise StartError(f"{text!r} not in the log of invoker {self.id or ''}",
                                 self.log())
            time.sleep(0.05)

    def signal(self, sig: Signals) -> None:
        self.child.signal(sig)

    def wait_exit(self, timeout_s: float | None = None) -> int:
        return self.child.wait_exit(timeout_s)

    @property
    def stopped_children(self) -> list[int]:
        """Its child processes (containers) when the last stop began."""
        return self.child.stopped_children

    def stop(self, sig: Signals = SIGTERM) -> int | None:
        """``sig``, wait (it finishes what runs, destroys its containers); SIGKILL if it
        hangs. Its exit status (None if it was not running)."""
        return self.child.stop(sig)
