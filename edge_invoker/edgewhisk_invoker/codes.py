"""The actions' code a version-2 controller no longer sends (``Run.code_omitted``).

Why: a warm ``run`` carried the action's code every time (kilobytes to megabytes for nothing:
a warm container never reads it). In protocol 2 the controller sends the code of a
``spec.key`` (which carries the code's digest) once per connection; the agent keeps it here
and completes the runs that omit it. What is kept is bounded (``CODES_KEPT`` keys and
``CODE_BYTES_KEPT`` bytes, least recently used first out); a run whose code is not here any
more is answered ``code.missing`` and the controller sends it again with the code.
"""

from __future__ import annotations

from collections import OrderedDict

from edgewhisk_tunnel import CODES_KEPT, Run

CODE_BYTES_KEPT = 64 * 1024 * 1024


class Codes:
    """Code by ``spec.key``, least recently used first out."""

    def __init__(self, keys: int = CODES_KEPT, size: int = CODE_BYTES_KEPT) -> None:
        self.keys, self.size = keys, size
        self._codes: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    def __contains__(self, key: str) -> bool:
        return key in self._codes

    def missing(self, run: Run) -> bool:
        """Whether ``run`` omits code that is not here (answer ``code.missing``)."""
        return run.code_omitted and run.spec.key not in self._codes

    def code(self, run: Run, *, keep: bool = True) -> str | None:
        """``run``'s code (not ``missing``): kept from it when it carries code (and
        ``keep``: the connection speaks protocol 2), the kept one when it omits it. Why not
        a completed ``Run``: two frozen copies cost more than the omitted code of a small
        action saves; the pool's spec takes the code (``frames.action_spec``)."""
        key, code = run.spec.key, run.spec.code
        if not run.code_omitted:
            if code is not None and keep:
                self._keep(key, code)
            return code
        self._codes.move_to_end(key)
        return self._codes[key]

    def _keep(self, key: str, code: str) -> None:
        old = self._codes.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        if len(code) > self.size:
            return  # larger than all that is kept: sent with every run
        self._codes[key] = code
        self._bytes += len(code)
        while len(self._codes) > self.keys or self._bytes > self.size:
            _, dropped = self._codes.popitem(last=False)
            self._bytes -= len(dropped)
