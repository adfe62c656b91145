"""The ``runtime`` fixtures: every conformance case runs against a process and a container.

``runtime_factory`` yields a factory of fresh targets (stopped at teardown, by pid for
processes); ``runtime`` is one fresh target with the invoker's usual environment. The
"container" targets come from ``container_runtime_factory`` in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest

from .targets import ProcessTarget, RuntimeTarget, TargetFactory

INVOKER_ENV = {"__OW_API_HOST": "http://127.0.0.1:3233"}


def _process_factory(env: Mapping[str, str] | None = None) -> RuntimeTarget:
    return ProcessTarget(env={**INVOKER_ENV, **(env or {})})


@pytest.fixture(params=["process", "container"])
def runtime_factory(request: pytest.FixtureRequest) -> Iterator[TargetFactory]:
    make: Callable[..., RuntimeTarget]
    if request.param == "process":
        make = _process_factory
    else:
        container_factory = request.getfixturevalue("container_runtime_factory")

        def make(env: Mapping[str, str] | None = None) -> RuntimeTarget:
            return container_factory({**INVOKER_ENV, **(env or {})})

    started: list[RuntimeTarget] = []

    def factory(env: Mapping[str, str] | None = None) -> RuntimeTarget:
        target = make(env)
        started.append(target)
        return target

    yield factory
    for target in started:
        target.stop()


@pytest.fixture
def runtime(runtime_factory: TargetFactory) -> RuntimeTarget:
    """A fresh runtime (process or container), stopped after the test."""
    return runtime_factory()
