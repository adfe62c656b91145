"""The decorators action authors write, and ``describe`` that turns them into the annotation.

Each decorator validates its own arguments when the module is imported (so a mistake fails at
``wsk action create`` time, not at the first activation), appends one ``Record`` to
``main.__edgewhisk__`` and returns ``main`` itself — it never wraps or changes what main computes.
Decorators apply bottom-up, so each one *prepends* its record: the list reads in source order.
Checks that need the whole stack (variables, drift targets) run in ``describe``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .exceptions import AnnotationError
from .gates import validate_gate
from .schema import SCHEMA_VERSION, validate, validate_artifact, validate_policy

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__edgewhisk__"


@dataclass(frozen=True)
class Record:
    """One decorator application: the annotation ``section`` and its (validated) ``entry``."""

    section: str
    entry: dict[str, Any] = field(default_factory=dict)


def records(main: Callable[..., Any]) -> list[Record]:
    """The records on ``main`` in source order (empty when it is not decorated)."""
    return list(getattr(main, ATTRIBUTE, []))


def describe(main: Callable[..., Any]) -> dict[str, Any]:
    """The validated, normalised annotation (schema version 1) of a decorated ``main``.

    An undecorated function describes as the empty annotation: it consumes and produces nothing.
    """
    doc: dict[str, Any] = {"version": SCHEMA_VERSION, "consumes": [], "produces": [],
                           "gates": [], "policies": []}
    for record in records(main):
        doc[record.section].append(dict(record.entry))
    return validate(doc)


def _decorator(decorator: str, usage: str, section: str, entry: dict[str, Any]) -> Callable[[F], F]:
    """Validate ``entry`` now and return the decorator that records it on main."""
    entry = {key: value for key, value in entry.items() if value is not None}
    path = f"@{decorator}"
    try:
        if section in ("consumes", "produces"):
            checked = validate_artifact(section, entry, path)
        elif section == "gates":
            checked = validate_gate(entry, path)
        else:
            checked = validate_policy(entry, path)
    except AnnotationError as error:
        raise AnnotationError(error.path, f"{error.reason}. Usage: {usage}") from None

    def apply(main: F) -> F:
        if not callable(main):
            raise AnnotationError(path, f"decorates the action's main function. Usage: {usage}")
        existing = records(main)
        if section in ("consumes", "produces"):
            for other in existing:
                if other.section in ("consumes", "produces") and (
                    other.entry["name"] == checked["name"]
                ):
                    raise AnnotationError(
                        f"{path}.name",
                        f"{checked['name']!r} is already the name of another artifact of this "
                        f"function; artifact names must be unique. Usage: {usage}",
                    )
        setattr(main, ATTRIBUTE, [Record(section, checked), *existing])
        return main

    return apply


def _no_bare(decorator: str, usage: str, first: object) -> None:
    # '@policy.deadline' without parentheses passes main as the first argument.
    if callable(first):
        raise AnnotationError(
            f"@{decorator}", f"needs its arguments in parentheses. Usage: {usage}"
        )


class _Consumes:
    """``@consumes.data`` / ``@consumes.model``: artifacts injected as keyword arguments of main."""

    DATA = "@consumes.data('{usr}/glucose', name='readings', locality='local')"
    MODEL = ("@consumes.model(name='base', selector={'type': 'classifier', "
             "'metrics': {'accuracy': '>=0.8'}}) or @consumes.model('models/base')")

    @staticmethod
    def data(ref: str, *, name: str | None = None, locality: str | None = None) -> Callable[[F], F]:
        _no_bare("consumes.data", _Consumes.DATA, ref)
        entry = {"kind": "data", "name": name, "ref": ref, "locality": locality}
        return _decorator("consumes.data", _Consumes.DATA, "consumes", entry)

    @staticmethod
    def model(ref: str | None = None, *, name: str | None = None,
              selector: dict[str, Any] | None = None,
              locality: str | None = None) -> Callable[[F], F]:
        _no_bare("consumes.model", _Consumes.MODEL, ref)
        entry = {"kind": "model", "name": name, "ref": ref, "selector": selector,
                 "locality": locality}
        return _decorator("consumes.model", _Consumes.MODEL, "consumes", entry)


class _Produces:
    """``@produces.data`` / ``@produces.model``: values main returns under the artifact's name."""

    DATA = "@produces.data('{usr}/features', name='features', locality='local')"
    MODEL = "@produces.model('{usr}/glucose-model', locality='local')"

    @staticmethod
    def data(ref: str, *, name: str | None = None, locality: str | None = None) -> Callable[[F], F]:
        _no_bare("produces.data", _Produces.DATA, ref)
        entry = {"kind": "data", "name": name, "ref": ref, "locality": locality}
        return _decorator("produces.data", _Produces.DATA, "produces", entry)

    @staticmethod
    def model(ref: str, *, name: str | None = None,
              locality: str | None = None) -> Callable[[F], F]:
        _no_bare("produces.model", _Produces.MODEL, ref)
        entry = {"kind": "model", "name": name, "ref": ref, "locality": locality}
        return _decorator("produces.model", _Produces.MODEL, "produces", entry)


class _Gate:
    """``@gate.bias`` / ``@gate.metric`` / ``@gate.drift``: when an artifact's metric fires.

    ``bias`` and ``metric`` are validator gates on a produced artifact (default: the one
    produced model): a firing one holds the new version back. ``drift`` watches a consumed
    model (default: the one consumed model) over a sliding ``window`` of its serving rows;
    ``strict=True`` refuses activations (or routes them to ``fallback``) while it holds. Every
    firing fires the trigger ``trigger`` (default ``<action>.<type>``)."""

    BIAS = "@gate.bias(attribute='age', predicate='<0.8')"
    METRIC = "@gate.metric('accuracy', '<0.9')"
    DRIFT = "@gate.drift(metric='confidence', predicate='<0.2', target='base')"
    DATA = "@gate.data('{usr}/glucose', new_items='>=100')"

    @staticmethod
    def bias(attribute: str, predicate: str, target: str | None = None, *,
             data: str | None = None, bins: list[float] | None = None,
             trigger: str | None = None) -> Callable[[F], F]:
        """``data``: a consumed data artifact to measure the ratio on (else the function
        reports ``metrics["bias"][attribute]``); ``bins``: boundaries grouping its values."""
        _no_bare("gate.bias", _Gate.BIAS, attribute)
        entry = {"type": "bias", "attribute": attribute, "predicate": predicate, "target": target,
                 "data": data, "bins": bins, "trigger": trigger}
        return _decorator("gate.bias", _Gate.BIAS, "gates", entry)

    @staticmethod
    def metric(name: str, predicate: str, target: str | None = None, *,
               trigger: str | None = None) -> Callable[[F], F]:
        """Any validator metric the function reports in ``Output(metrics=...)`` (robustness,
        accuracy; dotted names reach into nested ones)."""
        _no_bare("gate.metric", _Gate.METRIC, name)
        entry = {"type": "metric", "metric": name, "predicate": predicate, "target": target,
                 "trigger": trigger}
        return _decorator("gate.metric", _Gate.METRIC, "gates", entry)

    @staticmethod
    def drift(metric: str, predicate: str, target: str | None = None, *,
              window: int | None = None, cooldown: str | None = None, strict: bool = False,
              fallback: str | None = None, trigger: str | None = None) -> Callable[[F], F]:
        """``target`` defaults to the function's one consumed model (resolved by ``describe``);
        ``metric`` ``confidence``, ``psi`` or ``ks`` is measured, any other reported."""
        _no_bare("gate.drift", _Gate.DRIFT, metric)
        entry = {"type": "drift", "metric": metric, "predicate": predicate, "target": target,
                 "window": window, "cooldown": cooldown, "strict": strict or None,
                 "fallback": fallback, "trigger": trigger}
        return _decorator("gate.drift", _Gate.DRIFT, "gates", entry)

    @staticmethod
    def data(ref: str, new_items: str, *, trigger: str | None = None) -> Callable[[F], F]:
        """Fire ``trigger`` (default ``<action>.data``) once the consumed data ``ref`` grew by
        ``new_items`` (new versions, or the ``items`` each reports in its metadata) since the
        last firing for that binding: a retraining trigger."""
        _no_bare("gate.data", _Gate.DATA, ref)
        entry = {"type": "data", "ref": ref, "new_items": new_items, "trigger": trigger}
        return _decorator("gate.data", _Gate.DATA, "gates", entry)


class _Policy:
    """``@policy.deadline`` / ``@policy.fn`` / ``@policy.data`` / ``@policy.context`` /
    ``@policy.wait``: scheduling constraints; ``@policy.offline``: which devices may keep the
    action and run it cut off (``offline.py``)."""

    DEADLINE = "@policy.deadline('2s') or @policy.deadline('500ms', strict=True)"
    FN = "@policy.fn(node='{usr}_device', capability='gpu', strict=False)"
    DATA = "@policy.data(network=['company_network'], strict=True)"
    CONTEXT = "@policy.context(battery='>=0.3', charging=True, metered=False, strict=True)"
    WAIT = "@policy.wait('6h')"
    OFFLINE = "@policy.offline() or @policy.offline(node=['tablet-1'], capability='camera')"

    @staticmethod
    def deadline(within: str, strict: bool = False) -> Callable[[F], F]:
        _no_bare("policy.deadline", _Policy.DEADLINE, within)
        entry = {"type": "deadline", "within": within, "strict": strict}
        return _decorator("policy.deadline", _Policy.DEADLINE, "policies", entry)

    @staticmethod
    def fn(node: str | None = None, capability: str | list[str] | None = None,
           strict: bool = False) -> Callable[[F], F]:
        _no_bare("policy.fn", _Policy.FN, node)
        entry = {"type": "fn", "node": node, "capability": capability, "strict": strict}
        return _decorator("policy.fn", _Policy.FN, "policies", entry)

    @staticmethod
    def data(network: str | list[str], strict: bool = False) -> Callable[[F], F]:
        _no_bare("policy.data", _Policy.DATA, network)
        entry = {"type": "data", "network": network, "strict": strict}
        return _decorator("policy.data", _Policy.DATA, "policies", entry)

    @staticmethod
    def context(battery: str | None = None, charging: bool | None = None,
                network: str | list[str] | None = None, idle: bool | None = None,
                metered: bool | None = None, strict: bool = False) -> Callable[[F], F]:
        """Conditions on the device's live context (battery level, charging, networks joined
        now, idle, metered), as its agent reports them; hard with ``strict=True``."""
        _no_bare("policy.context", _Policy.CONTEXT, battery)
        entry = {"type": "context", "battery": battery, "charging": charging,
                 "network": network, "idle": idle, "metered": metered, "strict": strict}
        return _decorator("policy.context", _Policy.CONTEXT, "policies", entry)

    @staticmethod
    def wait(within: str) -> Callable[[F], F]:
        """An activation no invoker satisfies yet waits up to ``within`` for one (pending)
        instead of failing at once; when it expires it is recorded naming what was unmet."""
        _no_bare("policy.wait", _Policy.WAIT, within)
        return _decorator("policy.wait", _Policy.WAIT, "policies",
                          {"type": "wait", "within": within})

    @staticmethod
    def offline(node: str | list[str] | None = None,
                capability: str | list[str] | None = None) -> Callable[[F], F]:
        _no_bare("policy.offline", _Policy.OFFLINE, node)
        entry = {"type": "offline", "node": node, "capability": capability}
        return _decorator("policy.offline", _Policy.OFFLINE, "policies", entry)


consumes = _Consumes()
produces = _Produces()
gate = _Gate()
policy = _Policy()
