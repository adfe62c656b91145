"""The strict JSON reader and writer: what standard JSON is, the limits, and (hypothesis) that
no input whatever raises anything but ``JSONError``."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from edgewhisk_json import MAX_DEPTH, JSONError, check, dumps, loads
from hypothesis import given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=300, deadline=None)

REFUSED = [
    pytest.param('{"a": NaN}', "NaN is not a JSON number", id="NaN is not JSON"),
    pytest.param("[Infinity]", "Infinity is not a JSON number", id="Infinity is not JSON"),
    pytest.param("-Infinity", "-Infinity is not a JSON number", id="-Infinity is not JSON"),
    pytest.param("[1e999]", "out of range", id="a float beyond a double is refused"),
    pytest.param("-1e309", "out of range", id="a negative float beyond a double is refused"),
    pytest.param("1" * 310, "more than 309 digits", id="an integer of 310 digits is refused"),
    pytest.param("-" + "9" * 5000, "more than 309 digits",
                 id="an integer of 5,000 digits is refused, not a ValueError"),
    pytest.param(str(int(sys.float_info.max) * 2)[:309].replace("3", "9", 1), "out of range",
                 id="a 309-digit integer above the largest double is refused"),
    pytest.param('"\\ud800"', "lone surrogate", id="a lone high surrogate is refused"),
    pytest.param('{"\\udc00": 1}', "lone surrogate", id="a lone surrogate in a key is refused"),
    pytest.param('["a", ["\\ud83d"]]', "lone surrogate",
                 id="a half surrogate pair inside an array is refused"),
    pytest.param("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested more than 128",
                 id="one level deeper than the limit is refused"),
    pytest.param("[" * 100_000, "nested more than 128",
                 id="a hundred thousand open brackets are refused, not a RecursionError"),
    pytest.param('{"a": 1', "Expecting", id="truncated JSON is refused"),
    pytest.param("{'a': 1}", "Expecting property name", id="single quotes are refused"),
    pytest.param('{"a": 1} x', "Extra data", id="trailing garbage is refused"),
    pytest.param("", "Expecting value", id="an empty text is refused"),
    pytest.param("\ufeff{}", "Expecting value", id="a byte order mark is refused"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_what_is_not_standard_json_within_the_limits_is_refused(text: str, reason: str) -> None:
    with pytest.raises(JSONError) as refused:
        loads(text)
    assert reason in refused.value.reason
    with pytest.raises(JSONError):
        loads(text.encode("utf-8", "surrogatepass"))  # the same as bytes


ACCEPTED = [
    pytest.param('{"a": [1, 2.5, -0, true, false, null, "x"]}', id="ordinary JSON"),
    pytest.param('"\\ud83d\\ude00"', id="a surrogate pair is one character"),
    pytest.param('"\\\\ud800"', id="an escaped backslash before ud800 is not a surrogate"),
    pytest.param("[" * MAX_DEPTH + "]" * MAX_DEPTH, id="exactly the depth limit is fine"),
    pytest.param(str(int(sys.float_info.max)),
                 id="the largest double as an integer keeps its exact value"),
    pytest.param("1e308", id="a float just inside a double's range"),
    pytest.param("1e-999", id="a float that underflows to zero is finite"),
    pytest.param('  {"a": "é\u2028"}\n', id="whitespace around, non-ASCII inside"),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_standard_json_reads_as_the_standard_library_reads_it(text: str) -> None:
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


def test_bytes_must_be_utf8() -> None:
    with pytest.raises(JSONError, match="not UTF-8"):
        loads(b'{"a": "\xff"}')
    with pytest.raises(JSONError, match="not UTF-8"):
        loads('"x"'.encode("utf-16"))  # the standard library would guess the encoding


@pytest.mark.parametrize(("value", "reason"), [
    pytest.param({"a": float("nan")}, "Out of range float", id="NaN"),
    pytest.param([float("inf")], "Out of range float", id="an infinity"),
    pytest.param({"a": "\ud800"}, "lone surrogate", id="a lone surrogate"),
    pytest.param({"a": {1, 2}}, "not JSON serializable", id="a set"),
])
def test_dumps_refuses_what_loads_would_refuse(value: Any, reason: str) -> None:
    with pytest.raises(JSONError, match=reason):
        dumps(value)
    with pytest.raises(JSONError):
        check(value)


@pytest.mark.parametrize(("value", "reason"), [
    pytest.param(10 ** 400, "out of range", id="an integer beyond a double"),
    pytest.param([10 ** 5000], "out of range", id="an integer beyond Python's own digit limit"),
    pytest.param({1: "a"}, "key is a int", id="a key that is not a string"),
    pytest.param(b"bytes", "bytes is not a JSON value", id="bytes"),
])
def test_check_refuses_values_json_cannot_hold(value: Any, reason: str) -> None:
    with pytest.raises(JSONError, match=reason):
        check(value, what="parameters")


def test_check_counts_depth_like_loads() -> None:
    fine: Any = []
    for _ in range(MAX_DEPTH - 1):
        fine = [fine]
    check(fine)
    with pytest.raises(JSONError, match="nested more than"):
        check([fine])


# -- fuzzing ---------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2 ** 80), 2 ** 80) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)


@FUZZ
@given(st.text())
def test_arbitrary_text_reads_or_raises_json_error_only(text: str) -> None:
    try:
        loads(text)
    except JSONError:
        pass


@FUZZ
@given(st.binary())
def test_arbitrary_bytes_read_or_raise_json_error_only(data: bytes) -> None:
    try:
        loads(data)
    except JSONError:
        pass


@FUZZ
@given(JSON_VALUES, st.data())
def test_mutated_json_reads_or_raises_json_error_only(value: Any, data: st.DataObject) -> None:
    text = json.dumps(value)
    at = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.sampled_from(["NaN", "1e999", "\\ud800", "[", "{", "}", '"', "9" * 400,
                                        "-", ".", "e", "\\", "\x00", ","]))
    try:
        loads(text[:at] + insert + text[at:])
    except JSONError:
        pass


@FUZZ
@given(JSON_VALUES)
def test_standard_values_round_trip_through_dumps_and_loads(value: Any) -> None:
    check(value)
    assert loads(dumps(value)) == value
    assert loads(dumps(value).encode()) == value
