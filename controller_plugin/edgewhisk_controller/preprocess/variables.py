"""Binding an action's ``{variables}`` from an invocation's parameters.

Why only strings are rewritten: a compiled constraint keeps ``{usr}`` exactly where the
annotation had it (a node name, a network, an artifact ref); binding replaces those and
nothing else, with the SDK's own rule (``edgewhisk.bind``: a value is one path segment), so a
bound ref can never leave the artifact store. The caller's site is bound here too: it is the
one per-invocation input of the Proximity score.

``bind`` answers one invocation; ``bind_users`` binds the same action for many users at once
(fan-out), rebuilding only the constraints that mention the user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import edgewhisk

from ..placement.constraints import AskingDeviceArgs, Constraint, ProximityArgs
from .exceptions import UnboundVariable
from .model import (
    ArtifactNeed,
    BoundAction,
    CompiledAction,
    args_like,
    arguments,
    has_variable,
    with_args,
)

FANOUT_VARIABLE = "usr"
"""The one variable that, left unbound, fans out over the users on record."""

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def unbound(compiled: CompiledAction, params: Mapping[str, Any]) -> frozenset[str]:
    """The variables of ``compiled`` that ``params`` does not bind."""
    return frozenset(v for v in compiled.variables if v not in params)


def value_of(variable: str, params: Mapping[str, Any]) -> str:
    """``params[variable]`` checked by the SDK's rule; ``UnboundVariable`` otherwise."""
    if variable not in params:
        fans = (f" (an unbound {{{FANOUT_VARIABLE}}} fans out over the users on record)"
                if variable != FANOUT_VARIABLE else "")
        raise UnboundVariable(
            variable,
            f"The action's annotation uses the variable {{{variable}}}, which this invocation "
            f"does not bind: pass {variable!r} as a parameter{fans}.",
        )
    try:
        return edgewhisk.bind("{" + variable + "}", params)
    except edgewhisk.AnnotationError as exc:
        raise UnboundVariable(variable, f"Cannot bind the variable {{{variable}}}: "
                                        f"{exc.reason}") from None


def _subst(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: values[m.group(1)], value) if "{" in value else value
    if isinstance(value, tuple):
        return tuple(_subst(item, values) for item in value)
    return value


def _bound_args(k: Constraint, values: Mapping[str, str]) -> Constraint:
    """``k`` with every ``{variable}`` of its arguments replaced from ``values``."""
    bound = {name: _subst(v, values) for name, v in arguments(k.args).items()}
    return with_args(k, args_like(k.args, bound))


def _bind_constraint(k: Constraint, values: Mapping[str, str], site: str | None) -> Constraint:
    if isinstance(k.args, ProximityArgs):
        return with_args(k, ProximityArgs(site))
    if not any(has_variable(v) for v in arguments(k.args).values()):
        return k
    return _bound_args(k, values)


def _bind_artifacts(needs: Iterable[ArtifactNeed], values: Mapping[str, str]
                    ) -> tuple[ArtifactNeed, ...]:
    return tuple(
        replace(n, ref=_subst(n.ref, values), locality=_subst(n.locality, values))
        if has_variable(n.ref) or has_variable(n.locality) else n
        for n in needs
    )


def bind(compiled: CompiledAction, params: Mapping[str, Any], *,
         site: str | None = None) -> BoundAction:
    """Bind every variable of ``compiled`` from ``params``; ``UnboundVariable`` names a gap.

    Only the constraints that hold a variable (``compiled.templated``) and, given a site,
    Proximity are rebuilt; the others are shared with the compiled action.
    """
    values = {v: value_of(v, params) for v in sorted(compiled.variables)}
    constraints = compiled.constraints
    if compiled.templated or site is not None:
        rebuilt = list(constraints)
        for i in compiled.templated:
            rebuilt[i] = _bound_args(rebuilt[i], values)
        if site is not None:
            for i, k in enumerate(rebuilt):
                if isinstance(k.args, ProximityArgs):
                    rebuilt[i] = with_args(k, ProximityArgs(site))
        constraints = tuple(rebuilt)
    return BoundAction(compiled, tuple(values.items()), site, constraints,
                       _bind_artifacts(compiled.artifacts, values) if values
                       else compiled.artifacts)


def asked_by(bound: BoundAction, invoker: str, weight: float) -> BoundAction:
    """``bound`` preferring ``invoker``, the device that asked (``AskingDevice``, soft).

    Why added per invocation rather than compiled: only an invoke an agent forwarded names a
    device, and the hard constraints stay as they are, so a device the policy excludes is
    still no candidate."""
    return replace(bound, asker=invoker, constraints=(
        *bound.constraints, Constraint(AskingDeviceArgs(invoker), False, weight)))


class _Splices:
    """Every distinct ``{usr}`` template of an action, substituted once per user.

    ``recipe(value)`` turns an argument into what builds it from the user's substituted
    templates: a constant (None: the argument does not mention ``{usr}``), an index into
    them, or a tuple of constants and indexes.
    """

    PLACEHOLDER = "{" + FANOUT_VARIABLE + "}"

    def __init__(self) -> None:
        self.templates: dict[str, int] = {}
        self.parts: list[tuple[str, str] | list[str]] = []

    def _index(self, text: str) -> int:
        if text not in self.templates:
            self.templates[text] = len(self.parts)
            pieces = text.split(self.PLACEHOLDER)
            self.parts.append((pieces[0], pieces[1]) if len(pieces) == 2 else pieces)
        return self.templates[text]

    def recipe(self, value: Any) -> Any:
        if isinstance(value, str) and self.PLACEHOLDER in value:
            return self._index(value)
        if isinstance(value, tuple) and any(isinstance(v, str) and self.PLACEHOLDER in v
                                            for v in value):
            return tuple((self._index(v),) if isinstance(v, str) and self.PLACEHOLDER in v
                         else v for v in value)
        return None

    def substitute(self, user: str) -> list[str]:
        return [p[0] + user + p[1] if type(p) is tuple else user.join(p) for p in self.parts]


def _build(value: Any, recipe: Any, subs: list[str]) -> Any:
    if recipe is None:
        return value
    if type(recipe) is int:
        return subs[recipe]
    return tuple([subs[r[0]] if type(r) is tuple else r for r in recipe])


def bind_users(
    compiled: CompiledAction,
    params: Mapping[str, Any],
    users: Sequence[str],
    *,
    site: str | None = None,
) -> tuple[list[BoundAction], dict[str, str]]:
    """Bind ``compiled`` once per user (``{usr}`` = the user, the rest from ``params``).

    Returns the bound actions in the order of ``users`` and the users that cannot be bound
    (a user name that is not one path segment) with the reason. Why in bulk: bindings
    differ only in the user, so the other variables are bound once, every distinct template
    is substituted once per user, and constraints that do not mention ``{usr}`` are shared
    between every user's bound action.
    """
    others = {v: value_of(v, params) for v in compiled.variables if v != FANOUT_VARIABLE}
    partial = {**others, FANOUT_VARIABLE: _Splices.PLACEHOLDER}
    template = [_bind_constraint(k, partial, site) for k in compiled.constraints]
    splices = _Splices()
    # per constraint mentioning {usr}: its constant args, and (name, recipe) of the others
    plans: list[tuple[int, Constraint, dict[str, Any], list[tuple[str, Any]]]] = []
    for i, k in enumerate(template):
        given = arguments(k.args)
        recipes = {name: splices.recipe(v) for name, v in given.items()}
        varying = [(name, r) for name, r in recipes.items() if r is not None]
        if varying:
            constant = {name: v for name, v in given.items() if recipes[name] is None}
            plans.append((i, k, constant, varying))
    needs = _bind_artifacts(compiled.artifacts, partial)
    need_plans = [(i, n, splices.recipe(n.ref), splices.recipe(n.locality))
                  for i, n in enumerate(needs) if has_variable(n.ref) or has_variable(n.locality)]
    before = tuple(sorted((k, v) for k, v in others.items() if k < FANOUT_VARIABLE))
    after = tuple(sorted((k, v) for k, v in others.items() if k > FANOUT_VARIABLE))
    bounds: list[BoundAction] = []
    invalid: dict[str, str] = {}
    for user in users:
        try:
            value = value_of(FANOUT_VARIABLE, {FANOUT_VARIABLE: user})
        except UnboundVariable as exc:
            invalid[user] = exc.message
            continue
        subs = splices.substitute(value)
        constraints = template.copy()
        for i, k, constant, varying in plans:
            args = constant.copy()
            for name, r in varying:
                args[name] = subs[r] if type(r) is int else tuple(
                    [subs[x[0]] if type(x) is tuple else x for x in r])
            constraints[i] = with_args(k, args_like(k.args, args))
        artifacts = needs
        if need_plans:
            listed = list(needs)
            for i, n, ref, locality in need_plans:
                listed[i] = ArtifactNeed(n.name, n.kind, _build(n.ref, ref, subs), n.selector,
                                         _build(n.locality, locality, subs))
            artifacts = tuple(listed)
        binding = (*before, (FANOUT_VARIABLE, value), *after)
        bounds.append(BoundAction(compiled, binding, site, tuple(constraints), artifacts))
    return bounds, invalid
