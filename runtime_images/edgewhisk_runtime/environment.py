"""The one allow-list of what an action finds in its environment, on every backend and invoker.

Why an allow-list: the invoker (a controller, an edge agent) holds secrets in its environment
(``AWS_SECRET_ACCESS_KEY`` for ``--blobs s3://``, tokens, database URLs), and an action is
tenant code. So the action's environment is built, never inherited: the runtime's own
variables (:data:`RUNTIME`: a fixed ``PATH``, ``LANG``, ``HOME`` and ``TMPDIR`` in the action's
own folder, the ``PYTHON*`` settings the proxy relies on), the host's numeric-library tuning
(:data:`HOST_TUNING`, needed for correct results on some CPUs and carrying nothing secret),
the OpenWhisk ``__OW_*`` variables, and the action's own init ``env``. Nothing else.

Two places apply it, so a leak needs both to fail: the process backend starts each proxy with
:func:`proxy_environment` (bubblewrap's ``--clearenv`` then sets exactly it), and the proxy
starts the action process with :func:`allowed` of its own environment plus the init ``env``
(``process.child_environment``), which also covers a Docker image's ``ENV`` and a standalone
``edgewhisk runtime serve``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

OW_PREFIX = "__OW_"
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
RUNTIME = ("PATH", "LANG", "HOME", "TMPDIR", "PWD", "PYTHONUNBUFFERED", "PYTHONIOENCODING")
"""Set by the runtime itself (``PWD`` by the shell or bubblewrap's ``--chdir``)."""
HOST_TUNING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
               "OMP_NUM_THREADS")
"""Passed through from the host when set: older OpenBLAS builds compute wrong results or crash
on some CPUs unless told the core type, and thread counts belong to the machine."""
ALLOWED = frozenset(RUNTIME + HOST_TUNING)


def is_allowed(name: str) -> bool:
    """Whether an action may see the variable ``name`` (init ``env`` keys are added apart)."""
    return name in ALLOWED or name.startswith(OW_PREFIX)


def allowed(env: Mapping[str, str]) -> dict[str, str]:
    """The part of ``env`` on the allow-list."""
    return {key: value for key, value in env.items() if is_allowed(key)}


def proxy_environment(home: Path, tmp: Path, *, python: str | None = None,
                      host: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a proxy (and so its action) starts with: the runtime's variables, ``HOME`` and
    ``TMPDIR`` in folders of its own, the interpreter's folder first on ``PATH`` (so
    ``python`` is the one the runtime runs on), and the host tuning found in ``host``."""
    source = os.environ if host is None else host
    path = DEFAULT_PATH if python is None else f"{Path(python).parent}:{DEFAULT_PATH}"
    env = {"PATH": path, "LANG": "C.UTF-8", "HOME": str(home), "TMPDIR": str(tmp),
           "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "UTF-8"}
    env.update({key: source[key] for key in HOST_TUNING if key in source})
    return env
