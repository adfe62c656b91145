"""Finding an action by the name a caller used: packages, bindings, sharing, parameters.

As upstream's ``WhiskActionMetaData.resolveActionAndMergeParameters`` and the entitlement
checks of ``WhiskActionsApi.innerRoutes``: ``name`` is an action of the default package,
``pkg/name`` an action in a package, or ``binding/name`` an action of the package a binding
points to. Parameters merge as upstream's: package < binding < action (a later one wins), and
the invocation's parameters go over all of them (the dispatcher does that). Another namespace's
entities may be read and invoked only through a package it published (``publish: true``);
anything else of another namespace is a 403, as upstream's entitlement answers.

Why in ``dispatch/``: the API resolves what a request names, and a sequence resolves each of
its components when it runs; both read the store the same way through this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..exceptions import Forbidden, NotFound
from ..schema import entity, stored
from ..schema import package as packages
from ..stores import Doc, Store
from ..stores.interface import get_or_none


@dataclass(frozen=True)
class Resolved:
    """An action ready to run: its stored document with the parameters it inherits merged
    in, where it lives (``ns/name`` or ``ns/pkg/name``) and the binding it was reached
    through (``ns/binding``), if any."""

    action: Doc
    path: str
    binding: str | None = None


@dataclass(frozen=True)
class Package:
    """A package as a caller reached it: the package that holds the actions, the binding
    (if the caller named one) and the parameters the actions inherit (package < binding)."""

    package: Doc
    binding: Doc | None
    parameters: list[dict[str, Any]]

    @property
    def path(self) -> str:
        """Where the package's actions are stored: ``ns/pkg``."""
        return stored.path(self.package["namespace"], self.package["name"])


def may_read(caller_ns: str, ns: str, doc: Mapping[str, Any] | None = None) -> bool:
    """Whether ``caller_ns`` may read an entity of ``ns``: its own, or a published package."""
    return ns == caller_ns or (doc is not None and doc.get("publish") is True)


async def resolve_package(store: Store, caller_ns: str, ns: str, name: str) -> Package:
    """The package ``ns/name`` as ``caller_ns`` may use it; a binding is followed once."""
    doc = await get_or_none(store, packages.COLLECTION, stored.path(ns, name))
    if doc is None:
        raise NotFound()
    if not may_read(caller_ns, ns, doc):
        raise Forbidden()
    if not packages.is_binding(doc):
        return Package(doc, None, list(doc.get("parameters") or []))
    target = doc[packages.BINDING]
    bound = await get_or_none(store, packages.COLLECTION,
                              stored.path(target["namespace"], target["name"]))
    if bound is None or packages.is_binding(bound):
        raise NotFound()
    if not may_read(caller_ns, target["namespace"], bound):
        raise Forbidden()
    merged = merge_parameters(bound.get("parameters"), doc.get("parameters"))
    return Package(bound, doc, merged)


async def locate_action(store: Store, caller_ns: str, ns: str,
                        name: str) -> tuple[str, Package | None]:
    """Where the action ``name`` (``act`` or ``pkg/act``) of ``ns`` is stored, and the package
    it was reached through, without reading the action (upstream's ``resolveAction``)."""
    pkg, _, simple = name.rpartition("/")
    if not pkg:
        if ns != caller_ns:
            raise Forbidden()
        return stored.path(ns, simple), None
    package = await resolve_package(store, caller_ns, ns, pkg)
    return stored.path(package.path, simple), package


async def resolve_action(store: Store, caller_ns: str, ns: str, name: str) -> Resolved:
    """The action ``name`` (``act`` or ``pkg/act``) of ``ns`` as ``caller_ns`` may run it."""
    path, package = await locate_action(store, caller_ns, ns, name)
    doc = await get_or_none(store, stored.ACTIONS, path)
    if doc is None:
        raise NotFound()
    if package is None:
        return Resolved(doc, path)
    inherited = dict(doc, parameters=merge_parameters(package.parameters, doc.get("parameters")))
    binding = stored.path(ns, name.rpartition("/")[0]) if package.binding is not None else None
    return Resolved(inherited, path, binding)


async def resolve_name(store: Store, caller_ns: str, fqn: str) -> Resolved:
    """A fully qualified name as sequences store their components (``/ns/name`` or
    ``/ns/pkg/name``; ``_`` is the caller's namespace)."""
    ns, name = split_qualified(fqn, caller_ns)
    return await resolve_action(store, caller_ns, ns, name)


def split_qualified(fqn: str, caller_ns: str) -> tuple[str, str]:
    """``/ns/pkg/name`` -> (``ns``, ``pkg/name``); ``name`` or ``pkg/name`` are the caller's."""
    parts = fqn.strip("/").split("/")
    if fqn.startswith("/") and len(parts) >= 2:
        ns, rest = parts[0], parts[1:]
    else:
        ns, rest = caller_ns, parts
    return (caller_ns if ns == entity.DEFAULT_NAMESPACE else ns), "/".join(rest)


def merge_parameters(under: Any, over: Any) -> list[dict[str, Any]]:
    """Two ``[{"key", "value"}]`` lists merged by key, ``over`` winning (upstream's ``++``),
    each entry's ``init`` mark going with the entry that wins."""
    merged: dict[str, dict[str, Any]] = {}
    for item in [*(under or ()), *(over or ())]:
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            merged.pop(item["key"], None)
            merged[item["key"]] = dict(item)
    return list(merged.values())
