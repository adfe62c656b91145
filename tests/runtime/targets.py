"""What the conformance suite runs against: anything that serves the runtime contract.

``RuntimeTarget`` is the protocol (``.url``, ``.stdout()``, ``.stderr()``, ``.stop()``);
:class:`ProcessTarget` is the proxy as a local process (``edgewhisk_runtime.local``), and
``tests/images/targets.py`` has ``ContainerTarget`` (a container of the python3-ai image).
A ``TargetFactory`` makes a fresh target, with extra environment variables (what an invoker
puts in the container's environment, e.g. ``__OW_API_HOST``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from edgewhisk_runtime.local import LocalRuntime


class RuntimeTarget(Protocol):
    url: str

    def stdout(self) -> str: ...

    def stderr(self) -> str: ...

    def stop(self) -> None: ...


class TargetFactory(Protocol):
    def __call__(self, env: Mapping[str, str] | None = None) -> RuntimeTarget: ...


class ProcessTarget:
    """``python -m edgewhisk_runtime serve`` as a child of the test, stopped by pid."""

    def __init__(self, env: Mapping[str, str] | None = None, artifacts: Path | None = None,
                 extra_args: tuple[str, ...] = ()) -> None:
        self.runtime = LocalRuntime(artifacts=artifacts, env=dict(env or {}),
                                    extra_args=extra_args).start()
        self.url = self.runtime.url

    @property
    def pid(self) -> int | None:
        return self.runtime.pid

    def stdout(self) -> str:
        return self.runtime.stdout()

    def stderr(self) -> str:
        return self.runtime.stderr()

    def stop(self) -> None:
        self.runtime.cleanup()
