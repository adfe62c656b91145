"""edgewhisk_json: the ONE strict JSON reader (and writer) of every body and every frame.

Why a package of its own: the controller reads request bodies with it, the tunnel's schema
(``edgewhisk_tunnel``) decodes every frame with it, and the runtime's container client reads
every action answer with it; the tunnel and the runtime may not import the controller, and
the tunnel imports nothing else of ours. It imports nothing of ours (level 0 in
docs/architecture.md). The rules and their limits are in :mod:`.strict`.
"""

from .exceptions import JSONError
from .strict import MAX_DEPTH, MAX_INT_DIGITS, check, dumps, loads

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "JSONError", "check", "dumps", "loads"]
