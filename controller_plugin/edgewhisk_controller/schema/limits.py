"""Per-namespace limits, as OpenWhisk has them: invocations per minute, concurrent
invocations, trigger fires per minute.

The defaults are OpenWhisk's documented ones (its reference of limits: 120 invocations a minute,
100 concurrent, 60 trigger fires per minute). Each controller may change them for every
namespace (``--invocations-per-minute``, ``--concurrent-invocations``, ``--fires-per-minute``)
and per namespace (``--namespace-limits FILE``: ``{"ns": {"invocationsPerMinute": 600}}``,
upstream's field names as ``wskadmin limits set`` stores them; a field left out keeps the
controller's value). 0 blocks that kind of request, as upstream. The throttle that applies
them is ``dispatch/throttle.py``; ``ControllerConfig.limits_for`` is where a namespace's values are
read (the API's ``/namespaces/_/limits`` shows them from there).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

WIRE_NAMES = {"invocations_per_minute": "invocationsPerMinute",
              "concurrent_invocations": "concurrentInvocations",
              "fires_per_minute": "firesPerMinute"}
"""Our field names to upstream's (the limits document, ``wskadmin limits set``)."""


@dataclass(frozen=True)
class NamespaceLimits:
    invocations_per_minute: int = 120
    concurrent_invocations: int = 100
    fires_per_minute: int = 60

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if type(value) is not int or value < 0:
                raise ValueError(f"{WIRE_NAMES[f.name]} must be a whole number >= 0, "
                                 f"got {value!r}")

    def to_json(self) -> dict[str, int]:
        """Upstream's names and values."""
        return {WIRE_NAMES[f.name]: getattr(self, f.name) for f in fields(self)}

    def overridden(self, raw: Any, where: str) -> NamespaceLimits:
        """These limits with the upstream-named fields of ``raw`` replacing them."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: an object such as {{\"invocationsPerMinute\": 600}}")
        by_wire = {wire: name for name, wire in WIRE_NAMES.items()}
        unknown = sorted(set(raw) - set(by_wire))
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: unknown; expected one of "
                             f"{', '.join(sorted(by_wire))}")
        try:
            return replace(self, **{by_wire[k]: v for k, v in raw.items()})
        except ValueError as exc:
            raise ValueError(f"{where}.{exc}") from None


def load_namespace_limits(path: str | Path,
                          base: NamespaceLimits) -> dict[str, NamespaceLimits]:
    """``--namespace-limits FILE``: each namespace's limits over ``base``; ValueError naming
    the field for a malformed file."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the namespace limits file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: an object of namespaces, such as "
                         "{\"guest\": {\"invocationsPerMinute\": 600}}")
    return {ns: base.overridden(value, ns) for ns, value in raw.items()}
