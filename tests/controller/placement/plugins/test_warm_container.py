"""WarmContainer: invokers with a warm container of this action version score 100."""

from __future__ import annotations

from ..cluster import engine_of, inv, scores

KEY = "guest/a@0.0.1"


def test_completions_make_an_invoker_warm_for_that_version_only() -> None:
    engine = engine_of([inv("a"), inv("b"), inv("c")])
    engine.completed("b", 0, KEY, 10.0, True)
    engine.completed("c", 0, "guest/a@0.0.2", 10.0, True)
    assert scores("WarmContainer", [inv("a"), inv("b"), inv("c")], engine=engine,
                  action=KEY) == [0, 100, 0]


def test_a_heartbeat_replaces_the_warm_set_and_args_may_name_the_action() -> None:
    engine = engine_of([inv("a"), inv("b")])
    engine.completed("a", 0, KEY, 10.0, True)
    engine.heartbeat("a", warm=[])
    engine.heartbeat("b", warm=[KEY])
    assert scores("WarmContainer", [inv("a"), inv("b")], {"action": KEY}, engine=engine,
                  action="other/x@1") == [0, 100]
