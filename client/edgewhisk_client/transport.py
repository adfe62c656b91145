"""The HTTP layer under every typed call: one session, one key, the URL rules, typed errors.

Why one place: the URL of a call (``/api/v1/namespaces/{ns}/...``), the key, the CA to trust and
what counts as a refusal were written five times (the artifact CLI, the token CLI, the demo,
the benches, the tests); a rule changed in one copy silently diverged from the others.

URL rules (:meth:`Transport.url`): a path starting with ``/`` is relative to the API host
(``/ping``, ``/api/v1``); any other path is relative to the namespace's collection root,
``/api/v1/namespaces/{ns}/`` (``actions/hello?blocking=true``), where ``ns`` is the client's
namespace (``_``: the key's own, as ``wsk`` defaults) unless the call names another. The
namespace is quoted as one path segment; the path is sent as the caller wrote it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from .exceptions import HttpError, TlsError, Unreachable
from .wskprops import api_url

API = "/api/v1"
NAMESPACES = f"{API}/namespaces"
OWN_NAMESPACE = "_"
TIMEOUT_S = 60.0


class Transport:
    """Requests against one controller with one key (``uuid:key``, or None for none)."""

    def __init__(self, api_host: str, auth: str | None, *, namespace: str = OWN_NAMESPACE,
                 ca_file: str | None = None, timeout_s: float = TIMEOUT_S) -> None:
        self.api_host = api_url(api_host)
        self.auth = auth
        self.namespace = namespace
        self.timeout_s = timeout_s
        # Per request, not ``session.verify``: requests lets $REQUESTS_CA_BUNDLE override a
        # session's setting, and a CA file given on purpose must win.
        self.verify: str | bool = ca_file or True
        self.session = requests.Session()
        if auth is not None:
            user, _, key = auth.partition(":")
            self.session.auth = (user, key)

    def url(self, path: str, namespace: str | None = None) -> str:
        """The absolute URL of ``path`` (see the module's URL rules)."""
        if path.startswith("/"):
            return self.api_host + path
        ns = quote(namespace or self.namespace, safe="")
        return f"{self.api_host}{NAMESPACES}/{ns}/{path}"

    def request(self, method: str, path: str, *, namespace: str | None = None,
                **kwargs: Any) -> requests.Response:
        """The raw answer, whatever its status (for callers that look at it, e.g. tests).

        ``kwargs`` are ``requests``' (``json``, ``data``, ``params``, ``headers``, ``stream``,
        ``timeout``...); no answer at all raises :class:`Unreachable` (or :class:`TlsError`).
        """
        kwargs.setdefault("timeout", self.timeout_s)
        kwargs.setdefault("verify", self.verify)
        try:
            return self.session.request(method, self.url(path, namespace), **kwargs)
        except requests.exceptions.SSLError as exc:
            raise TlsError(f"TLS to {self.api_host} failed: {exc} (trust its CA with "
                           "--ca-file)") from None
        except requests.RequestException as exc:
            raise Unreachable(f"cannot reach the controller at {self.api_host}: "
                              f"{root_cause(exc)}") from None

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """:meth:`request`, but an answer of 400 or more raises :class:`HttpError`."""
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise refusal(method, response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a successful :meth:`call` (``None`` for an empty body)."""
        response = self.call(method, path, **kwargs)
        return response.json() if response.content else None

    def close(self) -> None:
        self.session.close()


def root_cause(exc: BaseException) -> str:
    """What went wrong underneath requests' and urllib3's wrappers ("Connection refused",
    "Name or service not known", "timed out"): their own texts repeat the pool, the URL and the
    retries, which a person reading one line of error does not need."""
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else None) or str(exc)


def refusal(method: str, response: requests.Response) -> HttpError:
    """The :class:`HttpError` of an answer: the body's ``error`` if it has one (OpenWhisk's
    ``{"error", "code"}``), else its text, else the status line's reason."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    message = str(error) if error else response.text.strip()[:300] or response.reason
    return HttpError(method, response.url, response.status_code, message, body)
