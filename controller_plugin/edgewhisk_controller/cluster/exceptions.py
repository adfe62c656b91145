"""Why a controller cannot work with the others of its cluster."""

from __future__ import annotations


class ClusterUnavailable(Exception):
    """The cluster's Redis cannot be reached at start: the controller does not start (a
    controller that ran alone could not serve its peers' devices, nor they its)."""
