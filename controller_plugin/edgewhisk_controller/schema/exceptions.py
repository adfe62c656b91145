"""Errors reading a stored entity; the API maps them once (``middleware/errors.py``).

Hierarchy (HTTP status in brackets)::

    ControllerError (edgewhisk_controller.exceptions)
    └── CorruptedAction         [500]  an action or trigger document that cannot be read
                                       (no exec, unknown shape)

Why here and not with the dispatcher's errors: the reading rules (:mod:`.stored`) raise it,
and they sit below every reader (the activation flow and the placement compiler alike).
"""

from __future__ import annotations

from ..exceptions import ControllerError


class CorruptedAction(ControllerError):
    default_message = "Resource is corrupted and cannot be read."
