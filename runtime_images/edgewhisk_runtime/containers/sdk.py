"""The Docker SDK, imported only by the ``docker`` backend, with a clear error when absent.

Why: ``pip install edgewhisk`` does not install the ``docker`` package (the ``process`` backend,
the embedded default, needs nothing); it comes with the ``docker`` extra. Without it,
``--backend docker`` used to end in a ``ModuleNotFoundError`` traceback; the controller and
the edge agent call :func:`import_docker` instead, which names the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from edgewhisk_runtime.containers.exceptions import BackendUnavailable

EXTRA = "pip install 'edgewhisk[docker]'"


def import_docker() -> ModuleType:
    """The ``docker`` package; :class:`BackendUnavailable` naming the extra when it is absent."""
    try:
        return importlib.import_module("docker")
    except ImportError:
        raise BackendUnavailable(
            f"--backend docker needs the Docker SDK, which is not installed: {EXTRA}"
        ) from None
