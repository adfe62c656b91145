"""edgewhisk's REST client: the one Python client of the controller's API.

It imports nothing of edgewhisk's (only ``requests``), so the CLI, the edge agent's token
commands, the demo, the benches and the tests all speak to the controller through it:

    with Client("http://127.0.0.1:3233", "uuid:key") as client:
        client.actions.put("hello", {"exec": {"kind": "python:3", "code": CODE}})
        record = client.actions.invoke("hello", {"name": "edge"})

Where the API host and key come from (``~/.wskprops``, ``$WSK_CONFIG_FILE``, ``--apihost`` /
``--auth``) is :mod:`.wskprops`; every error it raises is in :mod:`.exceptions`.
"""

from .activations import Activation
from .artifacts import Downloaded
from .client import Client
from .exceptions import (
    ClientError,
    DigestMismatch,
    HttpError,
    NotConfigured,
    NotRecorded,
    TlsError,
    Unreachable,
)
from .local import LocalAnswer, LocalClient
from .transport import API, NAMESPACES, OWN_NAMESPACE

__all__ = [
    "API", "NAMESPACES", "OWN_NAMESPACE", "Activation", "Client", "ClientError",
    "DigestMismatch", "Downloaded", "HttpError", "LocalAnswer", "LocalClient", "NotConfigured",
    "NotRecorded", "TlsError", "Unreachable",
]
