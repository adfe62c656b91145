"""An artifact registration checked against what the controller knows, before any effect.

A registration (``PUT .../artifacts/{name}``) names facts the registry keeps and others act
on: ``held_by`` decides where placement sends the artifact's consumers, ``created_by`` is its
lineage, ``owner`` is what fan-out and device selectors match, ``size`` feeds transfer
estimates. None of them is taken on trust:

- ``held_by`` must be an invoker of the namespace: an edge device holding a token of it, or a
  local invoker serving it;
- ``created_by`` must be an activation of the namespace (its record is looked up);
- ``owner`` must agree with the holder's, when the holder declares one (a connected device's
  ``register``, a ``--fleet`` member), and defaults to it; otherwise to the caller;
- ``size``, with content, must be the upload's length (its ``Content-Length`` here, before
  anything is stored; a chunked upload is counted by the registry as it arrives).

Each refusal is an ``InvalidArtifact`` (400) naming the field.
"""

from __future__ import annotations

from aiohttp import web

from ..artifacts import InvalidArtifact, NewArtifact
from ..exceptions import NotFound
from ..keys import DISPATCHER, STORE
from ..schema import activation as act
from ..schema.entity import check_name
from ..stores.interface import get_or_none
from ..tunnel.hub import TUNNEL


async def check(request: web.Request, ns: str, new: NewArtifact, *, owner_given: bool,
                has_content: bool) -> None:
    """Refuse ``new`` (400) unless its facts agree with the controller's; fill in the
    holder's owner when none was given."""
    holder_owner = _holder_owner(request, ns, new.held_by)
    if new.held_by is not None and holder_owner is _UNKNOWN:
        await _check_device(request, ns, new.held_by)
    if isinstance(holder_owner, str):
        if not owner_given:
            new.owner = holder_owner
        elif new.owner != holder_owner:
            raise InvalidArtifact(f"owner: {new.owner!r} is not the owner of {new.held_by!r}, "
                                  f"which is {holder_owner!r}")
    check_name(new.owner, "owner")
    if new.created_by is not None:
        await _check_activation(request, ns, new.created_by)
    declared = request.content_length
    if has_content and new.size is not None and declared is not None and declared != new.size:
        raise InvalidArtifact(f"size: {new.size} bytes announced, but the upload has "
                              f"{declared}; nothing was stored")


class _Unknown:
    pass


_UNKNOWN = _Unknown()


def _holder_owner(request: web.Request, ns: str, held_by: str | None) -> str | None | _Unknown:
    """The owner an invoker on record declares (None: none), or _UNKNOWN when it is not
    registered now; 400 when it is registered but does not serve ``ns``."""
    invokers = request.app[DISPATCHER].invokers
    if held_by is None or held_by not in invokers:
        return _UNKNOWN
    state = invokers.get(held_by).state()
    if state.namespaces is not None and ns not in state.namespaces:
        raise InvalidArtifact(f"held_by: {held_by!r} is not an invoker of namespace {ns!r}")
    return state.owner


async def _check_device(request: web.Request, ns: str, held_by: str) -> None:
    """An edge device not connected now: it must hold a token of ``ns``."""
    try:
        await request.app[TUNNEL].tokens.get(ns, held_by)
    except NotFound:
        raise InvalidArtifact(
            f"held_by: {held_by!r} is not a device of namespace {ns!r} (a device gets a "
            "token first: POST .../invokers/tokens)") from None


async def _check_activation(request: web.Request, ns: str, activation_id: str) -> None:
    await request.app[DISPATCHER].written(activation_id)  # a record just answered is there
    record = await get_or_none(request.app[STORE], act.COLLECTION, activation_id)
    if record is None or record.get("namespace") != ns:
        raise InvalidArtifact(f"created_by: {activation_id!r} is not an activation of "
                              f"namespace {ns!r}")
