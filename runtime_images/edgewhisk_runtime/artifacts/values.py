"""The values a run's artifacts cross invokers with: what it consumes, must produce, produced.

Why here and why these shapes: the edge agent and the controller's own invokers hand a run's
artifacts to :mod:`.stage` and get back what it kept, and both also speak the tunnel, whose
message types (``edgewhisk_tunnel.Consumed``, ``Produce``, ``Produced``) the runtime may not
import. So the runtime owns its side of each seam:

- :class:`ConsumeSpec` and :class:`ProduceSpec` are Protocols of what staging reads; the
  tunnel's frozen ``Consumed`` and ``Produce`` satisfy them as they are (no conversion, and
  mypy checks every call site);
- :class:`ProducedArtifact` is what staging keeps, a value of its own; it becomes the wire's
  ``Produced`` in exactly one place per direction (``edgewhisk_invoker.frames`` on a device,
  ``edgewhisk_controller.tunnel.twins`` on the controller).

``tests/tunnel/test_parity.py`` checks each of them against its tunnel twin, field by field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class ConsumeSpec(Protocol):
    """One consumed artifact of a run, resolved to one registry version (``key``,
    ``ns/name@version``): ``name`` is the keyword ``main`` receives; ``sha256``/``size``
    describe the canonical blob."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def key(self) -> str: ...

    @property
    def sha256(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def format(self) -> str: ...

    @property
    def locality(self) -> str: ...


class ProduceSpec(Protocol):
    """One artifact a run must keep: what ``main`` returns under ``name`` becomes version
    ``ref`` (``ns/name@version``, allocated before the run) with ``locality``."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def ref(self) -> str: ...

    @property
    def locality(self) -> str: ...


@dataclass(frozen=True)
class ProducedArtifact:
    """A produced artifact as the invoker kept it in its node store (its canonical blob's
    digest), with the ``metadata`` and ``metrics`` ``main`` attached (``edgewhisk.Output``).
    ``upload``: where a ``cloud`` artifact's bytes went before the result (a tunnel transfer
    id, or the blob store's key); None: they stayed on the invoker."""

    name: str
    kind: str
    ref: str
    format: str
    size: int
    sha256: str
    locality: str
    upload: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
