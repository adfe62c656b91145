"""Who is calling: Basic auth ``uuid:key`` resolved to a subject and its namespace.

Keys live in the ``subjects`` collection under ``_id`` = uuid, as OpenWhisk's subjects
database keeps them, but only as a SHA-256 hash: a key is 64 random characters, so a plain
hash cannot be brute-forced, and a leaked store does not leak working credentials. The
comparison is constant-time. The ``namespaces`` collection (``_id`` = name) makes namespace
names unique across subjects. A positive lookup is cached in memory, so the hot path of an
invoke does not touch the store; rotating a key or deleting a namespace drops its entries
(``Authenticator.forget``).

A subject whose document says ``admin: true`` may manage every namespace through
``/api/v1/admin/namespaces`` (``api/admin.py``). Only somebody who can write the store makes
one (``edgewhisk controller namespace create NAME --admin``, as ``wskadmin`` works on the
database): the API never grants it, so a leaked namespace key cannot become an admin key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .exceptions import Conflict, Forbidden, NotFound, Unauthorized
from .schema.entity import DEFAULT_NAMESPACE, check_name
from .stores import Conflict as StoreConflict
from .stores import NotFound as StoreNotFound
from .stores import Store
from .stores.interface import get_or_none
from .stores.update import update

GUEST_NAMESPACE = "guest"
GUEST_KEY = (
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:"
    "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)
"""OpenWhisk's well-known guest key (standalone OpenWhisk and the wsk CLI's default)."""

SUBJECTS = "subjects"
NAMESPACES = "namespaces"


@dataclass(frozen=True)
class Subject:
    """An authenticated caller: its name, its one namespace, and the key it used."""

    subject: str
    namespace: str
    uuid: str
    api_key: str
    admin: bool = False

    def resolve(self, ns: str) -> str:
        """The namespace a path names (``_`` is the caller's); 403 for anybody else's."""
        if ns in (DEFAULT_NAMESPACE, self.namespace):
            return self.namespace
        raise Forbidden()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_secret() -> str:
    """64 random URL-safe characters: the secret part of a key (or of a device token)."""
    return secrets.token_urlsafe(48)[:64]


def credentials(header: str | None, scheme: str) -> str:
    """What ``Authorization: <scheme> <credentials>`` carries; 401 when absent or another
    scheme (``scheme`` in lowercase)."""
    if not header:
        raise Unauthorized()
    given, _, token = header.partition(" ")
    if given.lower() != scheme:
        raise Unauthorized()
    return token.strip()


def parse_basic(header: str | None) -> tuple[str, str]:
    """``Authorization: Basic base64(uuid:key)`` -> (uuid, key); 401 when absent or malformed."""
    token = credentials(header, "basic")
    try:
        decoded = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthorized() from None
    uuid, sep, key = decoded.partition(":")
    if not sep or not uuid or not key:
        raise Unauthorized()
    return uuid, key


class Authenticator:
    """Looks keys up in the store (once per key: positive answers are cached).

    ``allow_guest`` False refuses OpenWhisk's publicly known guest key even when the store
    holds it (created by an earlier start on loopback): off loopback it opens nothing unless
    the controller was started with ``--guest``.
    """

    def __init__(self, store: Store, *, allow_guest: bool = True) -> None:
        self.store = store
        self.allow_guest = allow_guest
        self._known: dict[tuple[str, str], Subject] = {}

    async def authenticate(self, header: str | None) -> Subject:
        uuid, key = parse_basic(header)
        if not self.allow_guest and f"{uuid}:{key}" == GUEST_KEY:
            raise Unauthorized()
        cached = self._known.get((uuid, key))
        if cached is not None:
            return cached
        if uuid.startswith("_"):
            raise Unauthorized()
        try:
            doc = await self.store.get(SUBJECTS, uuid)
        except StoreNotFound:
            raise Unauthorized() from None
        if not hmac.compare_digest(str(doc.get("key", "")), hash_key(key)):
            raise Unauthorized()
        subject = Subject(doc["subject"], doc["namespace"], uuid, f"{uuid}:{key}",
                          admin=doc.get("admin") is True)
        self._known[(uuid, key)] = subject
        return subject

    def forget(self, namespace: str) -> None:
        """Drop the cached keys of ``namespace`` (its key was rotated, or it was deleted).

        Why only this process: another controller on the same store keeps its cache until it
        restarts, unless the controllers work as one (``--cluster-redis``): then each follows
        the others' writes through the changes feed (:meth:`changed`)."""
        for cached, subject in list(self._known.items()):
            if subject.namespace == namespace:
                del self._known[cached]

    def changed(self, doc: Mapping[str, Any]) -> None:
        """Another controller on the same store wrote the subject ``doc`` (the changes feed,
        ``cluster/``): the keys cached for its uuid go (a rotated or deleted key)."""
        for cached in [c for c in self._known if c[0] == doc.get("_id")]:
            del self._known[cached]


async def create_namespace(store: Store, name: str, api_key: str | None = None, *,
                           admin: bool = False) -> str:
    """Create namespace ``name`` with a fresh key (or ``api_key``) and return the key.

    409 when the namespace exists already. The key is returned once and stored hashed;
    ``admin`` makes it an admin key (see the module's docstring).
    """
    check_name(name, "namespace")
    if name.startswith("_"):
        raise Conflict(f"namespace {name!r}: names starting with '_' are reserved")
    if api_key is None:
        api_key = f"{uuidlib.uuid4()}:{new_secret()}"
    uuid, _, key = api_key.partition(":")
    try:
        await store.put(NAMESPACES, {"_id": name, "uuid": uuid})
    except StoreConflict:
        raise Conflict(f"namespace {name!r} exists already") from None
    subject: dict[str, object] = {"_id": uuid, "subject": name, "namespace": name,
                                  "key": hash_key(key)}
    if admin:
        subject["admin"] = True
    await store.put(SUBJECTS, subject)
    return api_key


async def _namespace_doc(store: Store, name: str) -> dict[str, Any]:
    try:
        return await store.get(NAMESPACES, name)
    except StoreNotFound:
        raise NotFound(f"The requested resource does not exist: namespace {name!r}.") from None


async def rotate_key(store: Store, name: str) -> str:
    """A fresh secret for namespace ``name``'s key (its uuid stays); the new key, once.

    The old key stops working at once on this controller (the caller ``forget``s it)."""
    uuid = (await _namespace_doc(store, name))["uuid"]
    secret = new_secret()
    await update(store, SUBJECTS, uuid, lambda doc: {**doc, "key": hash_key(secret)})
    return f"{uuid}:{secret}"


async def delete_namespace(store: Store, name: str) -> None:
    """Delete namespace ``name`` and its key (404 when absent); its entities are the
    caller's to check first (``api/admin.py``)."""
    doc = await _namespace_doc(store, name)
    subject = await get_or_none(store, SUBJECTS, doc["uuid"])
    if subject is not None:
        await store.delete(SUBJECTS, subject["_id"], subject["_rev"])
    await store.delete(NAMESPACES, doc["_id"], doc["_rev"])


async def list_namespaces(store: Store) -> list[dict[str, Any]]:
    """Every namespace: ``{"name", "uuid", "admin"}``, by name (no secrets: none are kept)."""
    out = []
    for doc in await store.list(NAMESPACES):
        subject = await get_or_none(store, SUBJECTS, doc["uuid"])
        out.append({"name": doc["_id"], "uuid": doc["uuid"],
                    "admin": bool(subject and subject.get("admin") is True)})
    return out


async def ensure_guest(store: Store) -> str:
    """Create ``guest`` with the well-known key on first start; return the key."""
    try:
        await store.get(NAMESPACES, GUEST_NAMESPACE)
    except StoreNotFound:
        try:
            await create_namespace(store, GUEST_NAMESPACE, GUEST_KEY)
        except Conflict:
            pass  # another controller on the same store created it first
    return GUEST_KEY
