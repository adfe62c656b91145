"""An action version's spec: its key changes with the version and the code, and the code digest
is computed once per stored revision (``_id``, ``_rev``), since a revision names exactly one
content; documents without a revision are hashed every time."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_controller.dispatch.spec import SPEC_CODE_KEPT, spec_of
from edgewhisk_controller.schema.revisions import KEPT as DIGESTS_KEPT

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
    key = spec_of("guest", first, api_host="h").key
    assert (spec_of("guest", second, api_host="h").key == key) is same


def _remembered(n: int) -> bool:
    """Whether revision ``n`` (code ``str(n)``) still has its digest remembered: read with
    other code, a remembered revision keeps the key of its own code (see the cases above).
    A forgotten one is remembered anew by asking, so ask about those last."""
    own = spec_of("guest", _doc(str(n)), api_host="h").key  # no revision: hashed, not kept
    asked = spec_of("guest", _doc("other", _id="guest/a", _rev=f"{n}-ee"), api_host="h").key
    return asked == own


def test_the_memory_of_digests_is_bounded() -> None:
    for n in range(DIGESTS_KEPT + 10):
        spec_of("guest", _doc(str(n), _id="guest/a", _rev=f"{n}-ee"), api_host="h")
    newest = DIGESTS_KEPT + 9
    assert _remembered(newest) and _remembered(newest - DIGESTS_KEPT + 1)
    assert not _remembered(newest - DIGESTS_KEPT)  # exactly the last DIGESTS_KEPT are kept


def test_the_spec_key_changes_with_version_and_code() -> None:
    action = {"name": "a", "version": "0.0.1",
              "exec": {"kind": "python:3", "code": "x", "binary": False, "main": "main"}}
    key = spec_of("guest", action, api_host="h").key
    assert key.startswith("guest/a@0.0.1#")
    assert spec_of("guest", {**action, "version": "0.0.2"}, api_host="h").key != key
    changed = {**action, "exec": {**action["exec"], "code": "y"}}
    assert spec_of("guest", changed, api_host="h").key != key
    spec = spec_of("guest", action, api_host="h")
    assert (spec.memory_mb, spec.timeout_ms, spec.concurrency, spec.logs_mb) == (
        256, 60_000, 1, 10)
    assert dict(spec.env) == {"__OW_API_HOST": "h"}


def test_a_revisions_spec_is_built_once_unless_it_has_init_parameters_or_large_code() -> None:
    small = _doc("x", _id="guest/s", _rev="1-ff")
    assert spec_of("guest", small, api_host="h") is spec_of("guest", dict(small), api_host="h")
    assert spec_of("guest", small, api_host="h2").env["__OW_API_HOST"] == "h2"
    assert spec_of("other", small, api_host="h").key != spec_of("guest", small, api_host="h").key
    with_init = spec_of("guest", small, api_host="h", init_env={"A": 1})
    assert (with_init.env["A"], with_init is spec_of("guest", small, api_host="h",
                                                     init_env={"A": 1})) == ("1", False)
    large = _doc("x" * (SPEC_CODE_KEPT + 1), _id="guest/l", _rev="1-ff")
    assert spec_of("guest", large, api_host="h") is not spec_of("guest", large, api_host="h")
