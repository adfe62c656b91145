"""Decorators record in source order, validate at decoration time and leave main alone."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import pytest
from edgewhisk import AnnotationError, consumes, describe, gate, policy, produces, records, validate

from . import design_example
from .design_example import design_doc


def test_describe_reproduces_the_design_md_annotation() -> None:
    expected = design_doc()
    # The one documented difference: normalised artifacts always carry their name.
    expected["produces"][0] = {"kind": "model", "name": "glucose-model",
                               **expected["produces"][0]}
    assert json.dumps(describe(design_example.main)) == json.dumps(expected)


def test_the_design_md_json_validates_to_what_describe_returns() -> None:
    assert validate(design_doc()) == describe(design_example.main)


def test_records_are_in_source_order() -> None:
    sections = [record.section for record in records(design_example.main)]
    assert sections == ["consumes", "consumes", "produces", "gates", "gates",
                        "policies", "policies", "policies"]


def test_decorators_return_main_itself_and_keep_its_behaviour() -> None:
    def plain(args: dict[str, Any], base: object, readings: object) -> dict[str, Any]:
        return {"args": args, "base": base, "readings": readings}

    decorated = plain
    for decorator in (policy.deadline("2s"), consumes.data("{usr}/glucose", name="readings"),
                      consumes.model("models/base")):
        result = decorator(decorated)
        assert result is decorated
    assert decorated(1, base=2, readings=3) == {"args": 1, "base": 2, "readings": 3}
    assert design_example.main({"a": 1}, base="b", readings="r") == {
        "args": {"a": 1}, "base": "b", "readings": "r"}
    assert inspect.signature(design_example.main).parameters.keys() == {"args", "base", "readings"}
    assert design_example.main.__name__ == "main"


def test_an_undecorated_function_describes_as_the_empty_annotation() -> None:
    def main(args: dict[str, Any]) -> dict[str, Any]:
        return args

    assert describe(main) == {"version": 1, "consumes": [], "produces": [], "gates": [],
                              "policies": []}


def test_stacking_order_does_not_matter_for_the_drift_target() -> None:
    @gate.drift("confidence", "<0.2")
    @consumes.model("models/base")
    def main(args: dict[str, Any], base: object) -> None:
        return None

    assert describe(main)["gates"][0]["target"] == "base"


DECORATION_ERRORS: list[tuple[str, Callable[[], object], str, str]] = [
    ("a bad duration names the decorator and shows usage", lambda: policy.deadline("2x"),
     "@policy.deadline.within", "Usage: @policy.deadline('2s')"),
    ("a bare decorator without parentheses is explained", lambda: policy.deadline(lambda a: a),
     "@policy.deadline", "parentheses"),
    ("a bad predicate is rejected at decoration", lambda: gate.bias("age", "<<0.8"),
     "@gate.bias.predicate", "Usage: @gate.bias(attribute='age', predicate='<0.8')"),
    ("a bad locality is rejected at decoration", lambda: consumes.data("a/b", locality="edge"),
     "@consumes.data.locality", "network:NAME"),
    ("a selector-only model needs a name", lambda: consumes.model(selector={"type": "c"}),
     "@consumes.model.name", "needs a name"),
    ("an unknown selector key is rejected", lambda: consumes.model(name="m", selector={"x": 1}),
     "@consumes.model.selector.x", "unknown key"),
    ("an empty network list is rejected", lambda: policy.data(network=[]),
     "@policy.data.network", "empty list"),
    ("a fn policy needs a node or capability", lambda: policy.fn(strict=True),
     "@policy.fn", "node or a capability"),
    ("a non-boolean strict is rejected", lambda: policy.data("lan", strict="yes"),
     "@policy.data.strict", "true or false"),
    ("a produced ref climbing out is rejected", lambda: produces.model("../m"),
     "@produces.model.ref", "not a ref"),
]


@pytest.mark.parametrize(("make", "path", "words"),
                         [pytest.param(m, p, w, id=s) for s, m, p, w in DECORATION_ERRORS])
def test_decorators_validate_when_applied(make: Callable[[], object], path: str,
                                          words: str) -> None:
    with pytest.raises(AnnotationError) as caught:
        make()
    assert caught.value.path == path
    assert words in caught.value.reason


def test_a_duplicate_name_is_rejected_at_decoration() -> None:
    with pytest.raises(AnnotationError, match="already the name") as caught:
        @consumes.data("a/readings")
        @produces.data("b/readings")
        def main(args: dict[str, Any], readings: object) -> None:
            return None
    assert caught.value.path == "@consumes.data.name"


def test_a_decorator_on_something_not_callable_is_rejected() -> None:
    with pytest.raises(AnnotationError, match="main function"):
        policy.deadline("2s")(42)  # type: ignore[type-var]


WHOLE_STACK_ERRORS = [
    ("an unbound policy variable fails describe with the policy's path",
     [policy.fn(node="{usr}_device")], "policies[0].node"),
    ("a drift gate with no consumed model fails describe",
     [gate.drift("confidence", "<0.2")], "gates[0].target"),
]


@pytest.mark.parametrize(("decorators", "path"),
                         [pytest.param(d, p, id=s) for s, d, p in WHOLE_STACK_ERRORS])
def test_whole_stack_checks_run_in_describe(decorators: list[Any], path: str) -> None:
    def main(args: dict[str, Any]) -> None:
        return None

    for decorator in reversed(decorators):
        decorator(main)
    with pytest.raises(AnnotationError) as caught:
        describe(main)
    assert caught.value.path == path


def test_decorator_arguments_are_copied_not_shared() -> None:
    networks = ["lan"]

    @policy.data(network=networks)
    def main(args: dict[str, Any]) -> None:
        return None

    networks.append("wan")
    assert describe(main)["policies"][0]["network"] == ["lan"]


def test_context_and_wait_policies_describe_as_written() -> None:
    from edgewhisk import describe, policy

    @policy.wait("6h")
    @policy.context(battery=">=0.3", charging=True, metered=False, strict=True)
    def main(args: dict[str, object]) -> dict[str, object]:
        return args

    assert describe(main)["policies"] == [
        {"type": "wait", "within": "6h"},
        {"type": "context", "battery": ">=0.3", "charging": True, "metered": False,
         "strict": True}]


def test_a_bare_context_policy_is_refused_with_its_usage() -> None:
    import pytest
    from edgewhisk import AnnotationError, policy

    with pytest.raises(AnnotationError, match=r"@policy.context: needs its arguments.*Usage"):
        policy.context(lambda args: args)  # type: ignore[arg-type]
    with pytest.raises(AnnotationError, match=r"@policy.context: a context policy needs a "):
        policy.context(strict=True)
