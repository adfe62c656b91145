"""The middleware pipeline: composition order, the one error mapping, and metrics."""

from __future__ import annotations

import asyncio

import pytest
from edgewhisk_runtime import exceptions as ex
from edgewhisk_runtime.activation import Activation, Handler, Result
from edgewhisk_runtime.middleware import compose
from edgewhisk_runtime.middleware.errors import ErrorsMiddleware, to_result
from edgewhisk_runtime.middleware.metrics import MetricsMiddleware, Recorder


class Trace:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def __call__(self, activation: Activation, call_next: Handler) -> Result:
        self.log.append(f"{self.name}>")
        result = await call_next(activation)
        self.log.append(f"<{self.name}")
        return result


def _activation() -> Activation:
    return Activation(value={"x": 1}, env={})


def test_stages_run_in_declared_order_around_the_endpoint() -> None:
    log: list[str] = []

    async def endpoint(activation: Activation) -> Result:
        log.append("action")
        return Result(200, activation.value)

    handler = compose([Trace("a", log), Trace("b", log)], endpoint)
    assert asyncio.run(handler(_activation())) == Result(200, {"x": 1})
    assert log == ["a>", "b>", "action", "<b", "<a"]


MAPPING_ROWS = [
    ("a malformed body is 400", ex.BadRequest("Error unmarshaling request: x"), 400,
     "Error unmarshaling request: x"),
    ("missing code is 403 with upstream's message", ex.MissingCode(), 403,
     "Missing main/no code to execute."),
    ("a second init is 403 with upstream's message", ex.AlreadyInitialized(), 403,
     "Cannot initialize the action more than once."),
    ("an unsafe archive is 502", ex.UnsafeArchive("invalid action: unsafe zip archive: x"), 502,
     "invalid action: unsafe zip archive: x"),
    ("a run before init is 500 with upstream's message", ex.NotInitialized(), 500,
     "no action defined yet"),
    ("an action process dying during the run is 400 command exited", ex.ActionExited(), 400,
     "command exited"),
    ("an action process dead before the run is 500 command exited", ex.ActionGone(), 500,
     "command exited"),
    ("an overrun deadline is 504", ex.DeadlineExceeded(), 504,
     "The action exceeded its deadline and was stopped."),
    ("a result that is not a dictionary or array is 502", ex.NotAJsonResult(), 502,
     "The action did not return a dictionary or array."),
    ("an artifact error is 502", ex.ArtifactError("artifact 'x' not found"), 502,
     "artifact 'x' not found"),
    ("an unexpected exception is 500 naming it", KeyError("boom"), 500,
     "internal runtime error: KeyError: 'boom'"),
]


@pytest.mark.parametrize("exc, status, message", [r[1:] for r in MAPPING_ROWS],
                         ids=[r[0] for r in MAPPING_ROWS])
def test_errors_stage_maps_every_exception_to_status_and_error(
        exc: Exception, status: int, message: str) -> None:
    async def endpoint(activation: Activation) -> Result:
        raise exc

    handler = compose([ErrorsMiddleware()], endpoint)
    assert asyncio.run(handler(_activation())) == Result(status, {"error": message})
    assert to_result(exc) == Result(status, {"error": message})


def test_metrics_stage_times_the_activation_without_changing_the_result() -> None:
    recorder = Recorder(size=4)

    async def endpoint(activation: Activation) -> Result:
        await asyncio.sleep(0)
        return Result(200, {"same": True})

    handler = compose([MetricsMiddleware(recorder)], endpoint)
    activation = _activation()
    for _ in range(6):
        assert asyncio.run(handler(activation)) == Result(200, {"same": True})
    assert activation.metrics["run_ms"] >= 0
    assert recorder.count == 6 and len(recorder.durations) == 4
    assert recorder.percentile(50) is not None
