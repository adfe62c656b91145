"""The outbox: results stay until a heartbeat echo proves the controller read them."""

from __future__ import annotations

from edgewhisk_invoker.outbox import Outbox
from edgewhisk_tunnel import Result, encode


def _result(aid: str) -> str:
    return encode(Result(aid, error="x"))


def test_a_result_is_confirmed_by_the_echo_of_a_later_heartbeat() -> None:
    box = Outbox()
    box.add("a", [_result("a")])
    assert [p.activation_id for p in box.unsent()] == ["a"]
    box.sent("a", next_seq=5)
    assert box.unsent() == [] and box.ids() == ("a",)
    assert box.confirmed(4) == []          # a heartbeat sent before the result
    (done,) = box.confirmed(5)
    assert done.activation_id == "a" and len(box) == 0
    assert not done.eventful               # delivered at once: the agent logs it at DEBUG


def test_unconfirmed_results_are_sent_again_after_a_lost_connection() -> None:
    box = Outbox()
    box.add("a", [_result("a")])
    box.add("b", [_result("b")])
    box.sent("a", next_seq=1)
    assert box.connection_lost() == []
    assert [p.activation_id for p in box.unsent()] == ["a", "b"]


def test_a_result_is_given_up_after_max_deliveries() -> None:
    box = Outbox(max_deliveries=2)
    box.add("a", [_result("a")])
    box.sent("a", 0)
    assert box.connection_lost() == []
    box.sent("a", 1)
    assert box.connection_lost() == ["a"] and box.ids() == ()


def test_adding_the_same_activation_twice_keeps_the_first() -> None:
    box = Outbox()
    box.add("a", [_result("a")])
    box.add("a", [Result("a", error="second")])
    assert box.unsent()[0].frames == (_result("a"),)


def test_a_refused_connection_drops_what_was_sent_on_it() -> None:
    box = Outbox()
    box.add("a", [_result("a")])
    box.add("b", [_result("b")])
    box.sent("a", 3)
    assert box.connection_lost(refused=True) == ["a"]
    assert [p.activation_id for p in box.unsent()] == ["b"]


def test_a_result_sent_again_or_finished_while_disconnected_is_eventful() -> None:
    box = Outbox()
    box.add("again", [_result("again")])
    box.add("late", [_result("late")], late=True)
    box.sent("again", 0)
    box.connection_lost()
    box.sent("again", 1)
    box.sent("late", 1)
    assert {p.activation_id: p.eventful for p in box.confirmed(1)} == {"again": True,
                                                                      "late": True}


def test_the_order_of_addition_holds_across_sends_and_a_lost_connection() -> None:
    """Results go out oldest first again after a reconnect, whichever were sent before."""
    box = Outbox()
    for aid in "abcd":
        box.add(aid, [_result(aid)])
    assert not box.awaiting() and "c" in box and "z" not in box
    box.sent("b", 1)
    box.sent("d", 1)
    assert box.awaiting() and "b" in box and box.ids() == ("a", "b", "c", "d")
    assert [p.activation_id for p in box.unsent()] == ["a", "c"]
    assert box.connection_lost() == []
    assert not box.awaiting() and [p.activation_id for p in box.unsent()] == ["a", "b", "c", "d"]
    box.sent("a", 2)
    assert [p.activation_id for p in box.confirmed(2)] == ["a"] and box.ids() == ("b", "c", "d")
