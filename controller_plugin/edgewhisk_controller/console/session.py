"""Who uses the console: the namespace key, given once in a login form, kept in a cookie.

Why a cookie and not Basic auth: a browser sends Basic credentials to every path of the host
and offers no way to log out; the cookie is scoped to ``/console`` (``Path``), unreadable by
scripts (``HttpOnly``), never sent by another site's page (``SameSite=Strict``) and only over
TLS when the controller serves TLS (``Secure``). It holds the key as Basic's ``uuid:key`` in
base64, checked on every request by the API's own ``Authenticator``.
"""

from __future__ import annotations

import base64

from aiohttp import web

from ..auth import Subject
from ..exceptions import Unauthorized
from ..keys import AUTHENTICATOR

COOKIE = "edgewhisk_console"
PATH = "/console"


async def subject_of(request: web.Request) -> Subject | None:
    """The console's user, or None (no cookie, or a key that no longer opens anything)."""
    token = request.cookies.get(COOKIE)
    return await check(request, token) if token else None


async def check(request: web.Request, token: str) -> Subject | None:
    """The namespace ``token`` (a cookie's value) opens, or None."""
    try:
        return await request.app[AUTHENTICATOR].authenticate(f"Basic {token}")
    except Unauthorized:
        return None


def encoded(key: str) -> str | None:
    """A key as the cookie holds it; None for something that is not ``uuid:key``."""
    if key.count(":") != 1 or not all(key.split(":")):
        return None
    return base64.b64encode(key.encode()).decode()


def remember(response: web.StreamResponse, token: str, secure: bool) -> None:
    response.set_cookie(COOKIE, token, path=PATH, httponly=True, samesite="Strict",
                        secure=secure)


def forget(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=PATH)
