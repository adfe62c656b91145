"""Pool values to tunnel messages: small logs inline, large logs as chunks before the result."""

from __future__ import annotations

from edgewhisk_invoker.frames import INLINE_LOGS_BYTES, action_spec, chunk_lines, result_frames
from edgewhisk_runtime.containers import ActionSpec, RunOutcome
from edgewhisk_tunnel import MAX_FRAME_BYTES, Logs, Message, Result, RunSpec, decode


def _outcome(logs: list[str], response: object = None) -> RunOutcome:
    return RunOutcome(200, response if response is not None else {"ok": True}, logs, False,
                      None, 3, "process-1")


def _frames(activation_id: str, outcome: RunOutcome) -> list[Message]:
    """``result_frames`` as the controller reads them."""
    return [decode(frame) for frame in result_frames(activation_id, outcome)]


def test_the_wire_spec_becomes_the_pools_action_spec() -> None:
    spec = RunSpec("ns/a@0.0.1", "python:3", "code", False, "main", None, {"K": "v"}, 256,
                   1000, 2, 5)
    assert action_spec(spec) == ActionSpec("ns/a@0.0.1", "python:3", "code", False, "main",
                                           None, {"K": "v"}, 256, 1000, 2, 5)


def test_small_logs_ride_in_the_result() -> None:
    frames = _frames("a1", _outcome(["2026-11-27T09:00:00Z stdout: hi"]))
    assert len(frames) == 1 and isinstance(frames[0], Result)
    assert frames[0].outcome is not None and frames[0].outcome.logs == (
        "2026-11-27T09:00:00Z stdout: hi",)


def test_large_logs_go_first_in_chunks_that_fit_a_frame() -> None:
    lines = [f"line {i} " + "x" * 1000 for i in range(3000)]   # ~3 MB
    sent = result_frames("a1", _outcome(lines))
    *chunks, result = [decode(frame) for frame in sent]
    assert all(isinstance(c, Logs) for c in chunks) and len(chunks) >= 3
    assert [line for c in chunks for line in c.lines] == lines  # type: ignore[union-attr]
    assert isinstance(result, Result) and result.outcome is not None
    assert result.outcome.logs == ()
    assert all(len(frame.encode()) <= MAX_FRAME_BYTES for frame in sent)
    assert len(lines[0]) * 3000 > INLINE_LOGS_BYTES


def test_a_result_too_large_for_a_frame_becomes_an_error_result() -> None:
    (result,) = _frames("a1", _outcome([], {"blob": "y" * (MAX_FRAME_BYTES + 1)}))
    assert isinstance(result, Result) and result.outcome is None
    assert result.error is not None and "too large for the tunnel" in result.error


def test_chunks_keep_whole_lines_and_order() -> None:
    assert chunk_lines(["aaaa", "bbbb", "cccc"], limit=10) == [["aaaa"], ["bbbb"], ["cccc"]]
    assert chunk_lines(["a", "b", "c"], limit=10) == [["a", "b"], ["c"]]
    assert chunk_lines([], limit=10) == []
