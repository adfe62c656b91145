"""The preprocessor's values: what an action needs, compiled and bound.

Why a module of its own: the compiler makes ``CompiledAction``s and ``variables`` binds them
into ``BoundAction``s; both read these types, so they live below both (neither imports the
other). A ``BoundAction`` is what the placement engine places (``placement.Bound``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ..placement.constraints import Args, Constraint, HardAndSoft

ANNOTATION = "edgewhisk"
"""The action annotation the preprocessor compiles."""

A = TypeVar("A", bound=Args)


@dataclass(frozen=True)
class ArtifactNeed:
    """A consumed artifact: what the action needs injected, and where it may come from."""

    name: str  # the keyword argument of main
    kind: str  # "data" | "model"
    ref: str | None  # may hold {variables} until bound
    selector: Mapping[str, Any] | None
    locality: str | None  # "local" | "cloud" | "network:NAME" | None

    @property
    def key(self) -> str:
        """The artifact's key for locality and caching: its ref, else its name."""
        return self.ref if self.ref is not None else self.name


@dataclass(frozen=True)
class CompiledAction(HardAndSoft):
    """One action version's constraints, with ``{variables}`` still unbound
    (``variables.bind`` binds them)."""

    key: str  # "ns/name@version"
    constraints: tuple[Constraint, ...]
    variables: frozenset[str]
    artifacts: tuple[ArtifactNeed, ...]
    digest: str  # of the annotation and weights this was compiled from
    templated: tuple[int, ...] = ()  # indexes of the constraints whose args hold {variables}
    wait_s: float | None = None  # ``policy.wait``: how long it may wait to be placed


@dataclass(frozen=True)
class BoundAction(HardAndSoft):
    """A compiled action with every variable bound: what the engine places."""

    compiled: CompiledAction
    binding: tuple[tuple[str, str], ...]  # (variable, value), sorted by variable
    site: str | None  # the caller's site; None -> the controller's own
    constraints: tuple[Constraint, ...]
    artifacts: tuple[ArtifactNeed, ...]  # refs bound
    asker: str | None = None  # the device that forwarded the invoke (``variables.asked_by``)

    @property
    def key(self) -> str:
        """A cache key: the action version, what it was compiled from, and the binding."""
        bound = ",".join(f"{k}={v}" for k, v in self.binding)
        key = f"{self.compiled.key}#{self.compiled.digest[:16]}|{bound}|site={self.site or ''}"
        return key if self.asker is None else f"{key}|asker={self.asker}"

    @property
    def values(self) -> dict[str, str]:
        return dict(self.binding)


def has_variable(value: Any) -> bool:
    """Whether an argument (a string, or a tuple of them) holds a ``{variable}``."""
    if isinstance(value, str):
        return "{" in value
    return isinstance(value, tuple) and any(map(has_variable, value))


def arguments(args: Args) -> dict[str, Any]:
    """A plugin's arguments by field name (a copy): what binding rewrites."""
    return dict(vars(args))


def args_like(template: A, values: dict[str, Any]) -> A:
    """An Args of ``template``'s type whose fields are ``values`` (every field, as
    ``arguments`` gives them; a fresh dict the new value keeps), without the frozen
    ``__init__``.

    Why: a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
    about three times this, and a 10,000-user fan-out builds several Args per user; the
    result is exactly what ``__init__`` would build (Args have no ``__post_init__``).
    """
    new = object.__new__(type(template))
    object.__setattr__(new, "__dict__", values)
    return new


def with_args(k: Constraint, args: Args) -> Constraint:
    """``k`` with other arguments, without re-running the frozen ``__init__`` (as
    ``args_like``; ``Constraint`` has no ``__post_init__``)."""
    new = object.__new__(Constraint)
    new.__dict__.update(k.__dict__)
    new.__dict__["args"] = args
    return new
