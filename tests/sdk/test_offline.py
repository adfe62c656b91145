"""The offline policy: how it normalises, and which devices may keep an action (one rule)."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk import AnnotationError, describe, policy
from edgewhisk.offline import may_cache, offline_policy


def _annotation(*decorators: Any) -> dict[str, Any]:
    def main(args: dict[str, Any]) -> dict[str, Any]:
        return args

    for decorator in reversed(decorators):
        main = decorator(main)
    return describe(main)


@pytest.mark.parametrize(("decorator", "expected"), [
    pytest.param(policy.offline(), {"type": "offline"}, id="no arguments: every device"),
    pytest.param(policy.offline(node="t1"), {"type": "offline", "node": ["t1"]},
                 id="one device id becomes a list"),
    pytest.param(policy.offline(node=["t1", "t2"], capability="camera"),
                 {"type": "offline", "node": ["t1", "t2"], "capability": ["camera"]},
                 id="devices and a capability are kept"),
])
def test_the_offline_policy_normalises(decorator: Any, expected: dict[str, Any]) -> None:
    assert offline_policy(_annotation(decorator)) == expected


def test_an_annotation_without_the_policy_has_none() -> None:
    assert offline_policy(_annotation(policy.deadline("2s"))) is None
    assert offline_policy(None) is None


@pytest.mark.parametrize(("make", "path", "words"), [
    pytest.param(lambda: policy.offline(node="{usr}_tablet"), "@policy.offline.node",
                 "no {variables}", id="a device id with a variable is refused"),
    pytest.param(lambda: policy.offline(capability=""), "@policy.offline.capability",
                 "must not be empty", id="an empty capability is refused"),
    pytest.param(lambda: policy.offline(lambda a: a), "@policy.offline", "parentheses",
                 id="a bare decorator is explained"),
])
def test_bad_offline_policies_are_refused(make: Any, path: str, words: str) -> None:
    with pytest.raises(AnnotationError) as caught:
        make()
    assert caught.value.path == path and words in caught.value.reason


@pytest.mark.parametrize(("policy_", "device", "capabilities", "allowed"), [
    pytest.param(None, "t1", (), False, id="no policy: no device keeps the action"),
    pytest.param({"type": "offline"}, "t1", (), True, id="no arguments: any device"),
    pytest.param({"type": "offline", "node": ["t1"]}, "t2", (), False,
                 id="a device not named is refused"),
    pytest.param({"type": "offline", "node": ["t1"], "capability": ["camera"]}, "t1", (), False,
                 id="a named device without the capability is refused"),
    pytest.param({"type": "offline", "node": ["t1"], "capability": ["camera"]}, "t1",
                 ("camera", "gpu"), True, id="a named device with the capability may"),
])
def test_which_devices_may_cache(policy_: Any, device: str, capabilities: tuple[str, ...],
                                 allowed: bool) -> None:
    assert may_cache(policy_, device, capabilities) is allowed
