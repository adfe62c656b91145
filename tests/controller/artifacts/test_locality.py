"""The locality rules in their one module: where bytes may move, where an activation may run
with what it consumes, and how wide a produced artifact may be. Every refusal names the rule."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_controller.artifacts import LocalityRefused
from edgewhisk_controller.artifacts import locality as rules
from edgewhisk_controller.placement import InvokerState


def doc(name: str, locality: str, kind: str = "data", copies: tuple[str, ...] = ("cloud",),
        version: int = 1) -> dict[str, Any]:
    return {"name": name, "version": version, "kind": kind, "locality": locality,
            "copies": list(copies)}


def invoker(id: str, *networks: str) -> InvokerState:
    return InvokerState(id=id, kinds=frozenset({"python:3"}), memory_mb=1024,
                        free_memory_mb=1024, in_flight=0, networks=frozenset(networks))


PHONE = invoker("u1-phone", "u1_home")
OTHER = invoker("u2-phone", "u2_home")
PLANT_A = invoker("plant-a", "plant")
PLANT_B = invoker("plant-b", "plant")
READINGS = doc("u1/glucose", "local", copies=("u1-phone",))
LINE = doc("line/vibration", "network:plant", copies=("plant-a",))
BASE = doc("glucose-base", "cloud", kind="model")


@pytest.mark.parametrize("artifact, to, from_", [
    pytest.param(BASE, PHONE, rules.CLOUD, id="a cloud artifact goes from the cloud to a device"),
    pytest.param(BASE, rules.CLOUD, PHONE, id="a cloud artifact goes from a device to the cloud"),
    pytest.param(READINGS, PHONE, None, id="a local artifact 'moves' to its holder (a no-op)"),
    pytest.param(LINE, PLANT_B, PLANT_A, id="a network artifact moves between members"),
])
def test_allowed_moves(artifact: dict[str, Any], to: Any, from_: Any) -> None:
    rules.check_move(artifact, to=to, from_=from_)


@pytest.mark.parametrize("artifact, to, from_, words", [
    pytest.param(READINGS, OTHER, PHONE, "refused to send it to invoker u2-phone",
                 id="a local artifact never goes to another device"),
    pytest.param(READINGS, rules.CLOUD, PHONE, "refused to move it to the cloud store",
                 id="a local artifact never goes to the cloud"),
    pytest.param(READINGS, PHONE, rules.CLOUD, "refused to move it from the cloud store",
                 id="a local artifact never comes from the cloud"),
    pytest.param(LINE, OTHER, PLANT_A, "invoker u2-phone is not in network plant",
                 id="a network artifact never reaches a non-member"),
    pytest.param(LINE, PLANT_B, rules.CLOUD, "refused to move it from the cloud store",
                 id="a network artifact never goes through the cloud store"),
])
def test_refused_moves_name_the_rule(artifact: dict[str, Any], to: Any, from_: Any,
                                     words: str) -> None:
    with pytest.raises(LocalityRefused) as refused:
        rules.check_move(artifact, to=to, from_=from_)
    assert refused.value.message.startswith(rules.rule(rules.label(artifact),
                                                       artifact["locality"]))
    assert words in refused.value.message


@pytest.mark.parametrize("consumed, on, networks", [
    pytest.param([READINGS, BASE], PHONE, (), id="local data on its holder, a cloud model"),
    pytest.param([LINE], PLANT_B, (), id="network data on any member"),
    pytest.param([READINGS, BASE], PHONE, [("u1_home",)],
                 id="strict data policy: local data on a device inside the network"),
    pytest.param([LINE], PLANT_A, [("plant", "office")],
                 id="strict data policy: data of one of its networks"),
])
def test_allowed_placements(consumed: list[dict[str, Any]], on: InvokerState,
                            networks: list[tuple[str, ...]]) -> None:
    rules.check_placement(consumed, on, data_networks=networks)


@pytest.mark.parametrize("consumed, on, networks, words", [
    pytest.param([READINGS], OTHER, (), "it is held by u1-phone, and the activation was "
                 "placed on invoker u2-phone", id="local data placed away from its holder"),
    pytest.param([LINE], PHONE, (), "invoker u1-phone, which is not in network plant",
                 id="network data placed on a non-member"),
    pytest.param([doc("census", "cloud")], PHONE, [("u1_home",)],
                 "data artifact census@1 is cloud",
                 id="strict data policy: cloud data is from outside"),
    pytest.param([LINE], PLANT_A, [("office",)], "data artifact line/vibration@1 is "
                 "network:plant", id="strict data policy: another network's data"),
    pytest.param([READINGS], PHONE, [("office",)], "is local on invoker u1-phone",
                 id="strict data policy: local data on a device outside its networks"),
])
def test_refused_placements_name_the_rule(consumed: list[dict[str, Any]], on: InvokerState,
                                          networks: list[tuple[str, ...]], words: str) -> None:
    with pytest.raises(LocalityRefused) as refused:
        rules.check_placement(consumed, on, data_networks=networks)
    assert words in refused.value.message
    if networks:
        assert refused.value.message.startswith(rules.data_rule(networks[0]))
    else:
        assert "artifact " in refused.value.message and "only its metadata" in \
            refused.value.message


def test_a_strict_data_policy_does_not_restrict_models() -> None:
    rules.check_placement([BASE], PHONE, data_networks=[("u1_home",)])


@pytest.mark.parametrize("consumed, widest", [
    pytest.param([], "cloud", id="no inputs: cloud"),
    pytest.param([BASE], "cloud", id="cloud inputs: cloud"),
    pytest.param([BASE, LINE], "network:plant", id="a network input: that network"),
    pytest.param([BASE, LINE, READINGS], "local", id="a local input: local"),
    pytest.param([LINE, doc("x", "network:office")], "local", id="two networks: local"),
])
def test_the_widest_locality_inputs_allow(consumed: list[dict[str, Any]], widest: str) -> None:
    assert rules.widest(consumed) == widest


@pytest.mark.parametrize("consumed, locality", [
    pytest.param([BASE, READINGS], "local", id="local from local"),
    pytest.param([LINE], "network:plant", id="the same network from a network"),
    pytest.param([LINE], "local", id="narrower than a network"),
    pytest.param([BASE], "cloud", id="cloud from cloud"),
])
def test_allowed_produces(consumed: list[dict[str, Any]], locality: str) -> None:
    rules.check_produce(consumed, [("out", locality)])


@pytest.mark.parametrize("consumed, locality, source", [
    pytest.param([BASE, READINGS], "cloud", READINGS, id="cloud from local"),
    pytest.param([READINGS], "network:u1_home", READINGS, id="network from local"),
    pytest.param([LINE], "cloud", LINE, id="cloud from a network"),
    pytest.param([LINE], "network:office", LINE, id="another network from a network"),
])
def test_a_produce_wider_than_its_inputs_is_refused_naming_the_rule(
        consumed: list[dict[str, Any]], locality: str, source: dict[str, Any]) -> None:
    with pytest.raises(LocalityRefused) as refused:
        rules.check_produce(consumed, [("u1/out", locality)])
    message = refused.value.message
    assert message.startswith(rules.rule(rules.label(source), source["locality"]))
    assert f"u1/out may not be {locality} (at most {rules.widest(consumed)})" in message


@pytest.mark.parametrize("artifact", [READINGS, LINE], ids=["local", "network"])
def test_only_cloud_versions_are_preloaded(artifact: dict[str, Any]) -> None:
    with pytest.raises(LocalityRefused, match="cannot be preloaded"):
        rules.check_preload(artifact)
    rules.check_preload(BASE)
