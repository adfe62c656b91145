"""Which activations skip the artifact and gate steps (``dispatch/plain.py``): only those of
an action that consumes, produces and gates nothing; the stored revision's part is decided once
per revision. What plain and other activations record is checked end to end by the dispatcher's
and the artifacts' own tests (a gated action's ``gates`` annotation, produced versions kept)."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_controller.dispatch.plain import is_plain
from edgewhisk_controller.preprocess import Compiler, bind

EXEC = {"kind": "python:3", "code": "def main(a): return a"}
GATE = {"type": "metric", "metric": "accuracy", "predicate": ">=0.8", "target": "model"}


def _action(rev: str, **annotation: Any) -> dict[str, Any]:
    annotations = [{"key": "edgewhisk", "value": {"version": 1, **annotation}}] \
        if annotation else []
    return {"_id": "guest/a", "_rev": rev, "namespace": "guest", "name": "a",
            "version": "0.0.1", "exec": EXEC, "annotations": annotations}


PLAIN_BOUND = bind(Compiler().compile(_action("0-plain")), {})


@pytest.mark.parametrize(("action", "plain"), [
    pytest.param(_action("1-a"), True, id="no annotation"),
    pytest.param(_action("2-a", consumes=[], produces=[], gates=[]), True, id="empty lists"),
    pytest.param(_action("3-a", gates=[GATE]), False, id="a gate"),
    pytest.param(_action("4-a", produces=[{"kind": "data", "name": "out", "ref": "out"}]),
                 False, id="a produce"),
])
def test_only_an_action_that_declares_nothing_is_plain(action: dict[str, Any],
                                                       plain: bool) -> None:
    assert is_plain(action, PLAIN_BOUND) is plain
    assert is_plain(dict(action), PLAIN_BOUND) is plain  # read again: remembered


def test_an_activation_that_consumes_is_not_plain() -> None:
    action = _action("5-a", consumes=[{"kind": "data", "name": "rows", "ref": "rows"}])
    bound = bind(Compiler().compile(action), {})
    assert bound.artifacts and not is_plain(action, bound)


def test_the_decision_is_kept_per_revision_and_made_anew_for_the_next() -> None:
    first = _action("6-a")
    assert is_plain(first, PLAIN_BOUND)
    # the same revision cannot change its annotations: what was decided holds
    assert is_plain({**_action("6-a", gates=[GATE])}, PLAIN_BOUND)
    assert not is_plain(_action("7-a", gates=[GATE]), PLAIN_BOUND)  # a new revision: decided anew
    unrevised = {k: v for k, v in _action("x", gates=[GATE]).items() if k != "_rev"}
    assert not is_plain(unrevised, PLAIN_BOUND)  # no revision: decided every time
