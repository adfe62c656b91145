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
    describe the canonical blob; ``reference``: a model's training reference (its metadata's
    ``training_reference``), which a drift gate compares its serving inputs with."""

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

    @property
    def reference(self) -> Mapping[str, Any] | None: ...


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


GATES_HEADER = "X-Edgewhisk-Gates"
"""The /run response header in which the proxy returns its verdicts (a JSON array), so the
result stays what ``main`` returned; a stock invoker never reads it."""


@dataclass(frozen=True)
class GateVerdict:
    """One gate's verdict on one activation, as the runtime's gate stage reached it.

    ``gate`` is its index in the annotation's ``gates``; ``target`` the artifact's name there
    (the controller knows which version that was); ``value`` what was compared with
    ``predicate`` (None when it could not be obtained: then ``error`` says why); ``source``
    ``measured`` or ``reported``; ``rows``: the drift window's rows the value covers;
    ``detail``: what else explains it (the feature that drifted most, the groups' rates).
    Its twin on the wire is ``edgewhisk_tunnel.Verdict`` (the same fields by design)."""

    gate: int
    type: str
    target: str
    metric: str
    predicate: str
    value: float | None
    fired: bool
    source: str
    rows: int | None = None
    detail: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Its JSON object (the optional fields left out when they are None)."""
        doc = {name: getattr(self, name) for name in _REQUIRED}
        for name in _OPTIONAL:
            if getattr(self, name) is not None:
                doc[name] = getattr(self, name)
        return doc

    @classmethod
    def from_json(cls, doc: Any) -> GateVerdict | None:
        """A verdict from its JSON object; None for anything that is not one (what a foreign
        proxy may send in the header)."""
        if not isinstance(doc, Mapping):
            return None
        if set(doc) - set(_KINDS) or not set(_REQUIRED) <= set(doc):
            return None
        for name, value in doc.items():
            if not _fits(value, _KINDS[name]):
                return None
        value = doc.get("value")
        return cls(**{**doc, "value": None if value is None else float(value)})


_REQUIRED = ("gate", "type", "target", "metric", "predicate", "value", "fired", "source")
_OPTIONAL = ("rows", "detail", "error")
_KINDS: dict[str, tuple[type, ...]] = {
    "gate": (int,), "type": (str,), "target": (str,), "metric": (str,), "predicate": (str,),
    "value": (int, float, type(None)), "fired": (bool,), "source": (str,),
    "rows": (int, type(None)), "detail": (str, type(None)), "error": (str, type(None))}


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)
