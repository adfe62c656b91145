"""NamespaceAccess: dedicated invokers serve only their namespaces; open ones serve all."""

from __future__ import annotations

import pytest

from ..cluster import inv, passing

CLUSTER = [inv("open"), inv("team", namespaces={"team"}), inv("both", namespaces={"a", "b"}),
           inv("none", namespaces=())]
CASES = [
    pytest.param("team", ["open", "team"], id="a namespace sees open and its own invokers"),
    pytest.param("b", ["open", "both"], id="an invoker may serve several namespaces"),
    pytest.param("guest", ["open"], id="a namespace with no dedicated invoker sees open ones"),
]


@pytest.mark.parametrize("namespace, expected", CASES)
def test_namespace_access_filter(namespace: str, expected: list[str]) -> None:
    assert passing("NamespaceAccess", CLUSTER, {"namespace": namespace}) == expected
