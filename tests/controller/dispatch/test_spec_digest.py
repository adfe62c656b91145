"""The spec key's code digest is computed once per stored revision (``_id``, ``_rev``), since a
revision names exactly one content; documents without a revision are hashed every time."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_controller.dispatch import entities

EXEC = {"kind": "python:3", "code": "x", "binary": False, "main": "main"}


def _doc(code: str, **fields: Any) -> dict[str, Any]:
    return {"name": "a", "version": "0.0.1", "exec": {**EXEC, "code": code}, **fields}


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        pytest.param(_doc("x", _id="guest/a", _rev="1-aa"), _doc("x", _id="guest/a", _rev="1-aa"),
                     True, id="the same revision read twice has the same key"),
        pytest.param(_doc("x", _id="guest/a", _rev="1-bb"), _doc("y", _id="guest/a", _rev="2-bb"),
                     False, id="a new revision with other code has another key"),
        pytest.param(_doc("x", _id="guest/a", _rev="1-cc"), _doc("y", _id="guest/a", _rev="1-cc"),
                     True, id="a revision's digest is remembered, not recomputed"),
        pytest.param(_doc("x"), _doc("y"), False,
                     id="without a revision the code is hashed every time"),
        pytest.param(_doc("x", _id="guest/a", _rev="1-dd"), _doc("x"), True,
                     id="a remembered digest equals the computed one"),
    ],
)
def test_spec_keys_by_revision(first: dict[str, Any], second: dict[str, Any], same: bool) -> None:
    key = entities.spec_of("guest", first, api_host="h").key
    assert (entities.spec_of("guest", second, api_host="h").key == key) is same


def test_the_memory_of_digests_is_bounded() -> None:
    for n in range(entities.DIGESTS_KEPT + 10):
        entities.spec_of("guest", _doc(str(n), _id="guest/a", _rev=f"{n}-ee"), api_host="h")
    assert len(entities._DIGESTS) == entities.DIGESTS_KEPT
