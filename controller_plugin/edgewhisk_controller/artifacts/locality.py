"""Where an artifact's bytes may go, decided from its locality — the registry's side of it.

Rules (DESIGN.md, issue 6): a ``local`` artifact never leaves its device, only its metadata
does; a ``network:NAME`` artifact moves only between invokers in that network; a ``cloud``
artifact may be kept and served by the controller's blob store. The controller is not a
device and is in no edge network, so it may hold and hand out the bytes of ``cloud``
artifacts only; for the others it keeps metadata and the list of copies (invoker ids).

Every refusal names the rule. The tunnel transfers, placement and produce checks (a later
part of issue 6) extend this module, so that the rules stay in one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .exceptions import InvalidArtifact, LocalityRefused

CLOUD = "cloud"
LOCAL = "local"
_NETWORK = re.compile(r"network:[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}")


def check_locality(value: Any) -> str:
    if value in (LOCAL, CLOUD) or (isinstance(value, str) and _NETWORK.fullmatch(value)):
        return str(value)
    raise InvalidArtifact(f"locality: {value!r} must be 'local', 'cloud' or 'network:NAME'")


def rule(name: str, locality: str) -> str:
    """The rule a locality imposes, in one sentence naming the artifact."""
    if locality == LOCAL:
        return f"artifact {name} is local to its device; only its metadata leaves it"
    if locality.startswith("network:"):
        network = locality[len("network:"):]
        return (f"artifact {name} is restricted to network {network}; its bytes move only "
                f"between invokers in {network}, and only its metadata reaches the cloud")
    return f"artifact {name} may be kept in the cloud"


def check_download(doc: Mapping[str, Any]) -> None:
    """The registry hands out bytes of ``cloud`` artifacts only (403 naming the rule)."""
    if doc["locality"] != CLOUD:
        raise LocalityRefused(rule(doc["name"], doc["locality"]))


def check_upload(name: str, locality: str, *, has_content: bool) -> None:
    """Bytes of a ``local``/``network:`` artifact may not be sent to the cloud store: such an
    artifact is registered by its metadata (sha256, size, held_by) without content."""
    if has_content and locality != CLOUD:
        raise LocalityRefused(
            f"{rule(name, locality)}: register it with held_by=INVOKER, sha256 and size, "
            "and no content")
