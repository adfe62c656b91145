"""RuntimeKind: the invoker must offer the action's kind."""

from __future__ import annotations

import pytest

from ..cluster import inv, passing

CLUSTER = [inv("py"), inv("node", kinds={"nodejs:default"}),
           inv("both", kinds={"python:3", "nodejs:default", "blackbox"})]
CASES = [
    pytest.param("python:3", ["py", "both"], id="python actions go where python runs"),
    pytest.param("blackbox", ["both"], id="blackbox needs an invoker that runs images"),
    pytest.param("java:8", [], id="an unknown kind runs nowhere"),
]


@pytest.mark.parametrize("kind, expected", CASES)
def test_runtime_kind_filter(kind: str, expected: list[str]) -> None:
    assert passing("RuntimeKind", CLUSTER, {"kind": kind}) == expected
