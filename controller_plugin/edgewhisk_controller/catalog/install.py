"""Installing the ``/whisk.system`` catalog into a store, once per start.

Why at every start, and written only where it differs: a controller of a newer version brings
newer system actions, while an unchanged catalog keeps its entities' versions (an action's
version names its code: warm containers and placement entries are keyed by it). Several
controllers on one store may install at once: a conflicting write means another one wrote the
same catalog, and is not an error.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..auth import create_namespace
from ..exceptions import Conflict
from ..schema import action as actions
from ..schema import package as packages
from ..stores import Conflict as StoreConflict
from ..stores import Store
from ..stores.interface import get_or_none

NAMESPACE = "whisk.system"
COMPARED = ("exec", "parameters", "annotations", "limits", "publish", "binding")
"""What makes a catalog entity current; ``version`` and ``updated`` follow from a write."""


@dataclass(frozen=True)
class Action:
    name: str
    source: str
    description: str
    parameters: tuple[dict[str, Any], ...] = ()
    annotations: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Package:
    name: str
    description: str
    actions: tuple[Action, ...] = field(default_factory=tuple)


def _feed(name: str, description: str) -> Action:
    return Action(name, "alarm_feed", description, ({"key": "alarm_kind", "value": name},),
                  ({"key": "feed", "value": True}, {"key": "final", "value": True}))


CATALOG = (
    Package("utils", "Building blocks that format and assemble data", (
        Action("echo", "echo", "Returns the input"),
        Action("cat", "cat", "Concatenates input into a string"),
        Action("head", "head", "Extract prefix of an array"),
        Action("sort", "sort", "Sorts an array"),
        Action("split", "split", "Split a string into an array"),
        Action("smash", "smash", "Nests all properties under given property"),
        Action("date", "date", "Current date and time"),
        Action("namespace", "namespace", "Returns namespace for the authorization key used "
                                        "to invoke this action"),
    )),
    Package("alarms", "Alarms and periodic utility", (
        _feed("alarm", "Fire trigger when alarm occurs (a cron schedule)"),
        _feed("interval", "Fire trigger at specified interval"),
        _feed("once", "Fire trigger once when alarm occurs"),
    )),
)


async def install(store: Store) -> None:
    """Write ``whisk.system`` and its packages and actions where they differ."""
    try:
        await create_namespace(store, NAMESPACE)  # a key nobody is told: nothing logs in as it
    except Conflict:
        pass  # there already
    for package in CATALOG:
        await _put(store, packages.COLLECTION, NAMESPACE, package.name, packages.build, {
            "publish": True, "annotations": [{"key": "description", "value": package.description}]})
        home = f"{NAMESPACE}/{package.name}"
        for action in package.actions:
            await _put(store, "actions", home, action.name, actions.build, {
                "exec": {"kind": "python:3", "code": _source(action.source)},
                "parameters": list(action.parameters),
                "annotations": [{"key": "description", "value": action.description},
                                *action.annotations]})


Build = Callable[[str, str, Any, Mapping[str, Any] | None], dict[str, Any]]


async def _put(store: Store, coll: str, ns: str, name: str, build: Build,
               body: dict[str, Any]) -> None:
    previous = await get_or_none(store, coll, f"{ns}/{name}")
    doc = build(ns, name, body, previous)
    if previous is not None:
        if all(previous.get(key) == doc.get(key) for key in COMPARED):
            return
        doc["_rev"] = previous["_rev"]
    try:
        await store.put(coll, doc)
    except StoreConflict:
        pass  # another controller installed it meanwhile


def _source(module: str) -> str:
    return (importlib.resources.files(__package__) / "sources" / f"{module}.py").read_text()
