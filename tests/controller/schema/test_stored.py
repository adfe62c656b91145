"""Reading stored entities as upstream does: truthiness, names, parameters, limits."""

from __future__ import annotations

from typing import Any

import pytest
from edgewhisk_controller.schema import stored

NAMES = [
    pytest.param("inc", ("guest", "inc"), id="a bare name is in my namespace"),
    pytest.param("/guest/inc", ("guest", "inc"), id="a fully qualified name"),
    pytest.param("/_/inc", ("guest", "inc"), id="the default namespace is mine"),
    pytest.param("/other/inc", ("other", "inc"), id="another namespace resolves (access is "
                                                    "checked later)"),
    pytest.param("pkg/inc", ("guest", "pkg/inc"), id="a package-relative name"),
    pytest.param("/guest/pkg/inc", ("guest", "pkg/inc"), id="a fully qualified package name"),
    pytest.param("/inc", None, id="a namespace without a name"),
    pytest.param("", None, id="an empty string"),
    pytest.param("a/b/c", None, id="too many parts"),
    pytest.param("bad name!", None, id="illegal characters"),
    pytest.param(17, None, id="not a string"),
    pytest.param(None, None, id="null"),
]


@pytest.mark.parametrize("value, expected", NAMES)
def test_resolve_name(value: Any, expected: tuple[str, str] | None) -> None:
    assert stored.resolve_name(value, "guest") == expected


TRUTHY = [
    pytest.param(True, True, id="true"), pytest.param(False, False, id="false"),
    pytest.param(None, False, id="null"), pytest.param(0, False, id="zero"),
    pytest.param(0.0, False, id="zero float"), pytest.param(2, True, id="a number"),
    pytest.param("", False, id="the empty string"), pytest.param("no", True, id="a string"),
    pytest.param({}, True, id="an object"), pytest.param([], True, id="an array"),
]


@pytest.mark.parametrize("value, expected", TRUTHY)
def test_is_truthy_follows_upstream(value: Any, expected: bool) -> None:
    assert stored.is_truthy(value) is expected


@pytest.mark.parametrize("annotations, expected", [
    pytest.param([], True, id="absent: provided, as upstream"),
    pytest.param([{"key": "provide-api-key", "value": False}], False, id="false: withheld"),
    pytest.param([{"key": "provide-api-key", "value": True}], True, id="true: provided"),
])
def test_provides_api_key(annotations: list[dict[str, Any]], expected: bool) -> None:
    assert stored.provides_api_key({"annotations": annotations}) is expected


def test_limits_default_to_upstreams() -> None:
    limits = stored.limits({"limits": {"memory": 512}})
    assert limits == {"concurrency": 1, "logs": 10, "memory": 512, "timeout": 60_000}
    assert list(limits) == sorted(limits)  # the order of upstream's activation records
