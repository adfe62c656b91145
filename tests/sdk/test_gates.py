"""Gates in the annotation: what each decorator records, what the validator refuses (naming the
field), and what ``gates_of`` reads with every default applied."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from edgewhisk import AnnotationError, ArtifactHandle, consumes, describe, gate, produces, validate
from edgewhisk.gates import COOLDOWN, WINDOW_ROWS, Gate, gates_of, reported_value, trigger_name
from edgewhisk.terms import parse_duration

Doc = dict[str, Any]

REFINE: Doc = {
    "version": 1,
    "consumes": [{"kind": "model", "name": "base", "ref": "glucose-base"},
                 {"kind": "data", "name": "probe", "ref": "glucose-probe"}],
    "produces": [{"kind": "model", "ref": "{usr}/glucose-model"},
                 {"kind": "data", "ref": "{usr}/report"}],
    "gates": [],
}


def with_gate(**entry: Any) -> Doc:
    doc = copy.deepcopy(REFINE)
    doc["gates"] = [entry]
    return doc


def test_the_three_decorators_record_their_gates_with_defaults_left_out() -> None:
    @consumes.model("glucose-base", name="base")
    @consumes.data("glucose-probe", name="probe")
    @produces.model("{usr}/glucose-model")
    @gate.bias("age", "<0.8", data="probe", bins=[40, 60])
    @gate.metric("robustness", "<0.5", trigger="refine.fragile")
    @gate.drift("psi", ">0.25", window=50, cooldown="30s", strict=True, fallback="predict-safe")
    def main(args: Doc, base: Any, probe: Any) -> Doc:
        return {}

    assert describe(main)["gates"] == [
        {"type": "bias", "attribute": "age", "predicate": "<0.8", "target": "glucose-model",
         "data": "probe", "bins": [40, 60]},
        {"type": "metric", "metric": "robustness", "predicate": "<0.5",
         "target": "glucose-model", "trigger": "refine.fragile"},
        {"type": "drift", "metric": "psi", "predicate": ">0.25", "target": "base", "window": 50,
         "cooldown": "30s", "strict": True, "fallback": "predict-safe"},
    ]


REFUSED = [
    ("a drift gate cannot target a produced model",
     with_gate(type="drift", metric="psi", predicate=">1", target="glucose-model"),
     "gates[0].target", "a consumed model"),
    ("a drift gate cannot target consumed data",
     with_gate(type="drift", metric="psi", predicate=">1", target="probe"),
     "gates[0].target", "a consumed model"),
    ("a validator gate cannot target a consumed model",
     with_gate(type="metric", metric="accuracy", predicate="<1", target="base"),
     "gates[0].target", "a produced artifact"),
    ("a bias gate's data must be a consumed data artifact",
     with_gate(type="bias", attribute="age", predicate="<1", data="base"),
     "gates[0].data", "names no consumed data artifact"),
    ("measured bias needs a model target",
     with_gate(type="bias", attribute="age", predicate="<1", target="report", data="probe"),
     "gates[0].data", "'report' is data"),
    ("bins without data are refused", with_gate(type="bias", attribute="age", predicate="<1",
                                                bins=[40]), "gates[0].bins", "give data="),
    ("bins must ascend", with_gate(type="bias", attribute="age", predicate="<1", data="probe",
                                   bins=[60, 40]), "gates[0].bins", "strictly ascending"),
    ("bins are numbers", with_gate(type="bias", attribute="age", predicate="<1", data="probe",
                                   bins=["40"]), "gates[0].bins[0]", "a number"),
    ("empty bins are refused", with_gate(type="bias", attribute="age", predicate="<1",
                                         data="probe", bins=[]), "gates[0].bins", "1 to 32"),
    ("a window of 0 rows is refused",
     with_gate(type="drift", metric="psi", predicate=">1", window=0), "gates[0].window",
     "1 to 100000"),
    ("a window is a whole number", with_gate(type="drift", metric="psi", predicate=">1",
                                             window=2.5), "gates[0].window", "a number of rows"),
    ("a cooldown is a duration", with_gate(type="drift", metric="psi", predicate=">1",
                                           cooldown="soon"), "gates[0].cooldown",
     "not a duration"),
    ("strict is true or false", with_gate(type="drift", metric="psi", predicate=">1",
                                          strict="yes"), "gates[0].strict", "true or false"),
    ("a fallback needs strict", with_gate(type="drift", metric="psi", predicate=">1",
                                          fallback="safe"), "gates[0].fallback",
     "give strict=True"),
    ("a fallback is an action name", with_gate(type="drift", metric="psi", predicate=">1",
                                               strict=True, fallback="a/b"),
     "gates[0].fallback", "an action name"),
    ("a trigger is a trigger name", with_gate(type="metric", metric="accuracy", predicate="<1",
                                              trigger="no spaces"),
     "gates[0].trigger", "a trigger name"),
    ("strict belongs to drift gates only",
     with_gate(type="metric", metric="accuracy", predicate="<1", strict=True),
     "gates[0].strict", "unknown key"),
    ("a metric gate needs its metric", with_gate(type="metric", predicate="<1"),
     "gates[0].metric", "missing"),
    ("a validator gate without a target needs exactly one produced model",
     {**with_gate(type="metric", metric="accuracy", predicate="<1"), "produces": []},
     "gates[0].target", "exactly one model is produced (here 0)"),
]


@pytest.mark.parametrize(("doc", "path", "words"),
                         [pytest.param(d, p, w, id=i) for i, d, p, w in REFUSED])
def test_a_bad_gate_is_refused_naming_its_field(doc: Doc, path: str, words: str) -> None:
    with pytest.raises(AnnotationError) as caught:
        validate(doc)
    assert caught.value.path == path
    assert words in caught.value.reason


def test_a_bad_decorator_argument_fails_at_import_with_the_usage() -> None:
    with pytest.raises(AnnotationError, match=r"@gate.drift.window: .*Usage: @gate.drift"):
        gate.drift("psi", ">1", window=-1)
    with pytest.raises(AnnotationError, match=r"@gate.metric.predicate: .*Usage: @gate.metric"):
        gate.metric("accuracy", "about 1")


def test_gates_of_applies_every_default() -> None:
    doc = validate({**REFINE, "gates": [
        {"type": "bias", "attribute": "age", "predicate": "<0.8"},
        {"type": "drift", "metric": "confidence", "predicate": "<0.2"},
        {"type": "drift", "metric": "latency", "predicate": ">5", "window": 10,
         "cooldown": "1s", "strict": True, "fallback": "safe", "trigger": "t"},
        {"type": "bias", "attribute": "age", "predicate": "<0.8", "data": "probe",
         "bins": [40, 60]}]})
    bias, confidence, latency, measured = gates_of(doc)
    assert bias == Gate(0, "bias", "bias.age", "<0.8", "glucose-model")
    assert (bias.validator, bias.measured) == (True, False)
    assert confidence == Gate(1, "drift", "confidence", "<0.2", "base", window=WINDOW_ROWS,
                              cooldown_s=parse_duration(COOLDOWN))
    assert (confidence.validator, confidence.measured) == (False, True)
    assert (latency.window, latency.cooldown_s, latency.strict, latency.fallback,
            latency.measured) == (10, 1.0, True, "safe", False)
    assert (measured.data, measured.bins, measured.measured) == ("probe", (40.0, 60.0), True)
    assert gates_of(None) == [] and gates_of({"gates": []}) == []


def test_triggers_are_named_after_the_action_and_the_gate_type_unless_given() -> None:
    doc = validate(with_gate(type="metric", metric="accuracy", predicate="<0.9"))
    (metric,) = gates_of(doc)
    assert trigger_name("refine", metric) == "refine.metric"
    (named,) = gates_of(validate(with_gate(type="metric", metric="accuracy",
                                           predicate="<0.9", trigger="alarm")))
    assert trigger_name("refine", named) == "alarm"
    assert metric.describe() == "metric(accuracy<0.9) on glucose-model"


@pytest.mark.parametrize(("values", "metric", "expected"), [
    pytest.param({"bias": {"age": 0.7}}, "bias.age", 0.7, id="a dotted name reaches in"),
    pytest.param({"accuracy": 1}, "accuracy", 1.0, id="an integer is a number"),
    pytest.param({"accuracy": True}, "accuracy", None, id="a boolean is not a number"),
    pytest.param({"bias": 0.7}, "bias.age", None, id="a number is not an object"),
    pytest.param({}, "accuracy", None, id="a missing metric is None"),
    pytest.param(None, "accuracy", None, id="no metrics at all"),
])
def test_a_reported_value_is_a_number_under_its_dotted_name(values: Any, metric: str,
                                                             expected: float | None) -> None:
    assert reported_value(values, metric) == expected


def test_a_handles_on_load_hook_sees_what_load_returns(tmp_path: Any) -> None:
    (tmp_path / "x.json").write_text('{"a": 1}')
    seen: list[Any] = []

    def hook(value: Any) -> Any:
        seen.append(value)
        return {"wrapped": value}

    handle = ArtifactHandle("data", "x", None, lambda: tmp_path / "x.json", on_load=hook)
    assert handle.load() == {"wrapped": {"a": 1}}
    assert seen == [{"a": 1}]
    plain = ArtifactHandle("data", "x", None, lambda: tmp_path / "x.json")
    assert plain.load() == {"a": 1}


def test_the_readmes_gates_example_is_valid_and_targets_what_the_readme_says() -> None:
    """The README's 'Quality gates' example, run as it is written: both functions' annotations
    validate, validator gates target the produced model, drift gates the consumed one, and the
    strict gate keeps its window, cooldown and fallback."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Quality gates", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the section has a Python example"
    header, refine_src, predict_src = re.split(r"\n(?=@consumes\.model)", code.group(1))
    mains = []
    for source in (refine_src, predict_src):
        scope: dict[str, Any] = {}
        exec(compile(header + "\n" + source, "README.md", "exec"), scope)  # noqa: S102
        mains.append(scope["main"])
    refine_doc, predict_doc = (describe(main) for main in mains)
    validate(refine_doc)
    validate(predict_doc)
    assert [(g.type, g.metric, g.target, g.measured) for g in gates_of(refine_doc)] == [
        ("bias", "bias.age", "glucose-model", True), ("metric", "accuracy", "glucose-model", False)]
    drift = gates_of(predict_doc)
    assert [(g.type, g.metric, g.target, g.strict) for g in drift] == [
        ("drift", "confidence", "model", False), ("drift", "psi", "model", True)]
    assert (drift[1].window, drift[1].cooldown_s, drift[1].fallback) == (100, 600.0,
                                                                        "predict-safe")
    assert trigger_name("predict", drift[0]) == "predict.drift"
