"""Device tokens: one per edge invoker id, bound to one namespace, stored only as a hash.

Why tokens and not namespace keys: a device is less trusted than its owner. Its token lets it
do exactly one thing, register as one invoker id for one namespace through the tunnel; it
cannot call the API. A token is ``<invoker id>:<64 random characters>``; the store keeps the
SHA-256 of the secret part (``auth.hash_key``, as namespace keys), so a leaked store leaks no
working token. Invoker ids are global (the registry is keyed by id): creating a token for an
id another namespace holds is a 409. Revoking deletes the document; the tunnel closes the
invoker's live connection at once (``hub.py``).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

from edgewhisk_tunnel import is_valid_id

from ..auth import credentials, hash_key, new_secret
from ..exceptions import BadRequest, Conflict, NotFound, Unauthorized
from ..stores import Conflict as StoreConflict
from ..stores import NotFound as StoreNotFound
from ..stores import Store
from ..stores.interface import get_or_none

COLLECTION = "invoker_tokens"


@dataclass(frozen=True)
class DeviceToken:
    """What a token grants: register as invoker ``id`` for ``namespace`` (no secret here)."""

    id: str
    namespace: str
    created: int  # ms since the epoch
    subject: str  # who created it

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "namespace": self.namespace, "created": self.created,
                "subject": self.subject}


def _token_of(doc: dict[str, Any]) -> DeviceToken:
    return DeviceToken(doc["_id"], doc["namespace"], int(doc["created"]), doc["subject"])


def check_invoker_id(id: Any) -> str:
    if not isinstance(id, str) or not is_valid_id(id):
        raise BadRequest("The invoker id must be 1-64 letters, digits, '.', '_' or '-', "
                         f"starting with a letter or digit; got {id!r}.")
    return id


class Tokens:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, namespace: str, id: str, subject: str,
                     *, overwrite: bool = False) -> tuple[DeviceToken, str]:
        """A new token for invoker ``id`` in ``namespace``: (its record, the token, once).

        409 if ``id`` has a token already (unless ``overwrite`` and it is this namespace's:
        then the old token stops working; the caller closes its connection).
        """
        check_invoker_id(id)
        secret = new_secret()
        doc: dict[str, Any] = {"_id": id, "namespace": namespace, "subject": subject,
                               "created": int(time.time() * 1000), "hash": hash_key(secret)}
        old = await get_or_none(self.store, COLLECTION, id)
        if old is not None:
            if old["namespace"] != namespace:
                raise Conflict(f"The invoker id {id!r} is taken by another namespace.")
            if not overwrite:
                raise Conflict(f"The invoker {id!r} has a token already; revoke it first "
                               "or create with ?overwrite=true.")
            doc["_rev"] = old["_rev"]
        try:
            await self.store.put(COLLECTION, doc)
        except StoreConflict:
            raise Conflict(f"The invoker {id!r} got a token concurrently.") from None
        return _token_of(doc), f"{id}:{secret}"

    async def list(self, namespace: str) -> list[DeviceToken]:
        docs = await self.store.list(COLLECTION, filters={"namespace": namespace})
        return [_token_of(doc) for doc in docs]

    async def get(self, namespace: str, id: str) -> DeviceToken:
        """The token record of ``id`` in ``namespace``; 404 otherwise (also another's)."""
        return _token_of(await self._doc(namespace, id))

    async def revoke(self, namespace: str, id: str) -> DeviceToken:
        """Delete the token of ``id`` (404 if ``namespace`` has none)."""
        doc = await self._doc(namespace, id)
        try:
            await self.store.delete(COLLECTION, id, doc["_rev"])
        except (StoreNotFound, StoreConflict):
            raise Conflict(f"The token of invoker {id!r} changed concurrently.") from None
        return _token_of(doc)

    async def _doc(self, namespace: str, id: str) -> dict[str, Any]:
        doc = await get_or_none(self.store, COLLECTION, id)
        if doc is None or doc["namespace"] != namespace:
            raise NotFound(f"The requested resource does not exist: invoker token {id!r}.")
        return doc

    async def verify(self, header: str | None) -> DeviceToken:
        """``Authorization: Bearer <id>:<secret>`` -> the token's grant; 401 otherwise."""
        id, sep, secret = credentials(header, "bearer").partition(":")
        if not sep or not is_valid_id(id) or not secret:
            raise Unauthorized()
        try:
            doc = await self.store.get(COLLECTION, id)
        except StoreNotFound:
            raise Unauthorized() from None
        if not hmac.compare_digest(str(doc.get("hash", "")), hash_key(secret)):
            raise Unauthorized()
        return _token_of(doc)
