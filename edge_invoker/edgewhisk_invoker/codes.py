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
from dataclasses import replace

from edgewhisk_tunnel import Run

CODES_KEPT = 256
CODE_BYTES_KEPT = 64 * 1024 * 1024


class Codes:
    """Code by ``spec.key``, least recently used first out."""

    def __init__(self, keys: int = CODES_KEPT, size: int = CODE_BYTES_KEPT) -> None:
        self.keys, self.size = keys, size
        self._codes: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    def __contains__(self, key: str) -> bool:
        return key in self._codes

    def complete(self, run: Run, *, keep: bool = True) -> Run | None:
        """``run`` with its code: kept from it when it carries code (and ``keep``: the
        connection speaks protocol 2), filled in when it omits it; None when it omits code
        that is not here (answer ``code.missing``)."""
        key, code = run.spec.key, run.spec.code
        if not run.code_omitted:
            if code is not None and keep:
                self._keep(key, code)
            return run
        code = self._codes.get(key)
        if code is None:
            return None
        self._codes.move_to_end(key)
        return replace(run, spec=replace(run.spec, code=code), code_omitted=False)

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
