"""What an edge device's invoker remembers of its ended activations (``tunnel/pending.Ended``):
a bounded few of those that ended with their result, many more of those given up on, whose
result may still come late (then ignored, not taken for a foreign frame)."""

from __future__ import annotations

from edgewhisk_controller.tunnel.pending import DONE_KEPT, HISTORY, Ended


def test_a_busy_device_keeps_few_done_ids_and_its_given_up_ones_long() -> None:
    """10,000 activations done after one abandoned: the abandoned one is still known (its
    result may come late), and only the last ``DONE_KEPT`` done ones are kept (before: the
    last 10,000 of all kinds, ~1.7 MB per busy device, and the abandoned one forgotten)."""
    ended = Ended()
    ended.add("given-up", "abandoned")
    for n in range(HISTORY):
        ended.add(f"a{n}", "done")
    assert ended["given-up"] == "abandoned"
    assert len(ended) == DONE_KEPT + 1
    assert ended.get(f"a{HISTORY - 1}") == "done" and f"a{HISTORY - DONE_KEPT}" in ended
    assert f"a{HISTORY - DONE_KEPT - 1}" not in ended


def test_an_id_ends_once_whichever_way_it_is_told_last() -> None:
    ended = Ended()
    ended.add("a", "lost")
    ended.add("a", "done")
    assert (ended["a"], len(ended)) == ("done", 1)
    ended.add("a", "unknown")
    assert (ended.get("a"), len(ended), ended.get("b")) == ("unknown", 1, None)
