"""Durations, predicates and variable binding: the grammars inside annotation strings."""

from __future__ import annotations

import pytest
from edgewhisk import AnnotationError, bind, parse_duration, parse_predicate, predicate_holds

DURATIONS = [
    ("milliseconds", "500ms", 0.5),
    ("seconds", "2s", 2.0),
    ("fractional minutes", "1.5m", 90.0),
    ("hours", "1h", 3600.0),
    ("a leading-dot fraction", ".5s", 0.5),
]


@pytest.mark.parametrize(("text", "seconds"), [pytest.param(t, s, id=i) for i, t, s in DURATIONS])
def test_durations_parse_to_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


BAD_DURATIONS = [
    ("an unknown unit", "2x"), ("no unit", "2"), ("no number", "s"), ("a negative number", "-2s"),
    ("spaces", "2 s"), ("zero", "0ms"), ("an empty string", ""), ("two units", "1h2m"),
]


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for i, t in BAD_DURATIONS])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(AnnotationError):
        parse_duration(text)


PREDICATES = [
    ("less than", "<0.8", ("<", 0.8), 0.5, True),
    ("less or equal at the bound", "<=0.8", ("<=", 0.8), 0.8, True),
    ("greater than fails below", ">0.2", (">", 0.2), 0.1, False),
    ("greater or equal with spaces", ">= 0.8", (">=", 0.8), 0.9, True),
    ("equal", "==1", ("==", 1.0), 1, True),
    ("not equal", "!=1", ("!=", 1.0), 1, False),
    ("a negative exponent", "<1e-3", ("<", 0.001), 0.0001, True),
]


@pytest.mark.parametrize(("text", "parsed", "value", "holds"),
                         [pytest.param(t, p, v, h, id=i) for i, t, p, v, h in PREDICATES])
def test_predicates_parse_and_evaluate(text: str, parsed: tuple[str, float], value: float,
                                       holds: bool) -> None:
    assert parse_predicate(text) == parsed
    assert predicate_holds(text, value) is holds
    assert predicate_holds(parsed, value) is holds


BAD_PREDICATES = [
    ("a doubled operator", "<<0.8"), ("a reversed operator", "=>0.8"), ("no number", "<"),
    ("no operator", "0.8"), ("a word", "<high"), ("infinity", "<inf"), ("assignment", "=1"),
]


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for i, t in BAD_PREDICATES])
def test_bad_predicates_are_rejected(text: str) -> None:
    with pytest.raises(AnnotationError, match="predicate"):
        parse_predicate(text)


BINDINGS = [
    ("one variable", "{usr}/glucose", {"usr": "u1"}, "u1/glucose"),
    ("two variables and an integer", "{usr}/{day}", {"usr": "u1", "day": 3}, "u1/3"),
    ("a template without variables", "models/base", {}, "models/base"),
    ("extra parameters are ignored", "{usr}_device", {"usr": "ann", "x": 1}, "ann_device"),
]


@pytest.mark.parametrize(("template", "params", "bound"),
                         [pytest.param(t, p, b, id=i) for i, t, p, b in BINDINGS])
def test_bind_replaces_variables(template: str, params: dict[str, object], bound: str) -> None:
    assert bind(template, params) == bound


BAD_BINDINGS = [
    ("an unbound variable is named", "{usr}/glucose", {}, "params.usr", "unbound variable {usr}"),
    ("a value with a slash cannot escape its segment", "{usr}/g", {"usr": "a/b"}, "params.usr",
     "cannot be bound"),
    ("a value of .. cannot climb out", "{usr}/g", {"usr": ".."}, "params.usr", "cannot be bound"),
    ("a list value is refused", "{usr}/g", {"usr": ["a"]}, "params.usr", "string or an integer"),
    ("a boolean value is refused", "{usr}/g", {"usr": True}, "params.usr", "string or an integer"),
]


@pytest.mark.parametrize(("template", "params", "path", "words"),
                         [pytest.param(t, p, a, w, id=i) for i, t, p, a, w in BAD_BINDINGS])
def test_bind_rejects_unbound_and_unsafe_values(template: str, params: dict[str, object],
                                                path: str, words: str) -> None:
    with pytest.raises(AnnotationError) as caught:
        bind(template, params)
    assert caught.value.path == path
    assert words in caught.value.reason


def test_a_template_matches_the_refs_it_binds_to() -> None:
    from edgewhisk.terms import match_template

    assert match_template("{usr}/glucose", "u1/glucose") == {"usr": "u1"}
    assert match_template("{site}/{usr}/x", "lab/u2/x") == {"site": "lab", "usr": "u2"}
    assert match_template("{a}/{a}", "x/x") == {"a": "x"}
    assert match_template("{a}/{a}", "x/y") is None  # one variable, one value
    assert match_template("{usr}/glucose", "u1/glucose2") is None
    assert match_template("{usr}/glucose", "../glucose") is None  # not a bindable value
    assert match_template("{usr}/glucose", "a/b/glucose") is None  # one segment per variable
    assert match_template("models/base", "models/base") == {}
