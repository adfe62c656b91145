"""NetworkMembership: a member of at least one of the networks (hard), preferred (soft)."""

from __future__ import annotations

import pytest

from ..cluster import inv, passing, scores

CLUSTER = [inv("office", networks={"company_network"}), inv("home", networks={"home_u1"}),
           inv("both", networks={"company_network", "home_u1"}), inv("cloud")]
CASES = [
    pytest.param(("company_network",), ["office", "both"], id="members of the network pass"),
    pytest.param(("home_u1", "home_u2"), ["home", "both"], id="any of several networks"),
    pytest.param(("vpn",), [], id="a network without members excludes everyone"),
]


@pytest.mark.parametrize("networks, expected", CASES)
def test_network_membership_filter(networks: tuple[str, ...], expected: list[str]) -> None:
    assert passing("NetworkMembership", CLUSTER, {"networks": networks}) == expected


def test_network_membership_prefers_members() -> None:
    assert scores("NetworkMembership", CLUSTER, {"networks": ("home_u1",)}) == [0, 100, 100, 0]


def test_ten_thousand_home_networks_are_sparse_sets() -> None:
    from ..cluster import engine_of

    engine = engine_of([inv(f"d{i}", networks={f"home_u{i}"}) for i in range(10_000)])
    assert len(engine.state.members["network"]) == 10_000
    assert passing("NetworkMembership", [], {"networks": ("home_u4242",)},
                   engine=engine) == ["d4242"]
