"""The three personal-assistant actions: their annotations say what the paper says, and their
``main`` functions chain in-process with real artifact handles and ``save_artifact``.

(The same chain through the real runtime is tests/examples/test_demo.py.)"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import glucose
import pytest
from edgewhisk import ArtifactHandle, describe, save_artifact, validate

pytestmark = pytest.mark.mxnet  # the personal-assistant actions run MXNet (the ai extra)

EXAMPLE = Path(glucose.__file__).parent


def _action(name: str) -> ModuleType:
    path = EXAMPLE / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"personal_assistant_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SELECTOR = {"type": "classifier", "trained_on": "glucose", "metrics": {"accuracy": ">=0.8"}}
EXPECTED = {
    "train_base": {
        "consumes": [],
        "produces": [
            {"kind": "model", "name": "glucose-base", "ref": "glucose-base", "locality": "cloud"}
        ],
        "gates": [],
        "policies": [{"type": "fn", "node": "cloud", "strict": True}],
    },
    "refine": {
        "consumes": [
            {"kind": "model", "name": "base", "selector": SELECTOR},
            {"kind": "data", "name": "readings", "ref": "{usr}/glucose", "locality": "local"},
        ],
        "produces": [
            {"kind": "model", "name": "glucose-model", "ref": "{usr}/glucose-model",
             "locality": "local"}
        ],
        "gates": [
            {"type": "bias", "attribute": "age", "predicate": "<0.8", "target": "glucose-model"}
        ],
        "policies": [
            {"type": "fn", "node": "{usr}_device", "strict": True},
            {"type": "data", "network": ["{usr}_home"], "strict": True},
        ],
    },
    "collect": {
        "consumes": [],
        "produces": [
            {"kind": "data", "name": "glucose", "ref": "{usr}/glucose", "locality": "local"}
        ],
        "gates": [],
        "policies": [{"type": "fn", "node": "{usr}_device", "strict": True}],
    },
    "predict": {
        "consumes": [
            {"kind": "model", "name": "model", "ref": "{usr}/glucose-model", "locality": "local"}
        ],
        "produces": [],
        "gates": [
            {"type": "drift", "metric": "confidence", "predicate": "<0.2", "target": "model"},
            {"type": "drift", "metric": "psi", "predicate": ">0.5", "target": "model",
             "window": 100, "strict": True},
        ],
        "policies": [
            {"type": "deadline", "within": "2s"},
            {"type": "fn", "node": "{usr}_device", "strict": True},
        ],
    },
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("collect", id="collect records the user's readings on the device"),
        pytest.param("train_base", id="train_base produces the base model in the cloud"),
        pytest.param("refine", id="refine is the paper's Listing 4"),
        pytest.param("predict", id="predict serves the user's model on the device"),
    ],
)
def test_the_annotation_validates_and_says_what_the_paper_says(name: str) -> None:
    doc = describe(_action(name).main)
    assert doc == {"version": 1, **EXPECTED[name]}
    assert validate(json.loads(json.dumps(doc))) == doc


def _handle(kind: str, name: str, path: Path) -> ArtifactHandle:
    return ArtifactHandle(kind, name, None, lambda: path)


def test_the_mains_chain_in_process_with_real_handles(tmp_path: Path) -> None:
    trained = _action("train_base").main({"samples": 2000, "epochs": 10})
    assert trained["model"]["type"] == "classifier" and trained["accuracy"] >= 0.8
    base = trained["glucose-base"]
    assert base.metadata["trained_on"] == "glucose" and base.metrics["accuracy"] >= 0.8
    base_path, base_format = save_artifact(base.value, tmp_path / "glucose-base")
    assert base_format == "mxnet-gluon"

    collected = _action("collect").main({"usr": "u1"})["glucose"]
    assert collected.metadata["type"] == "readings"
    readings_path, readings_format = save_artifact(collected.value, tmp_path / "u1")
    assert readings_format == "npz"
    refined = _action("refine").main(
        {"usr": "u1"},
        base=_handle("model", "base", base_path),
        readings=_handle("data", "readings", readings_path),
    )
    assert refined["accuracy_after"] > refined["accuracy_before"]
    assert set(refined["metrics"]) == {"accuracy", "confidence", "bias_age_ratio"}
    model = refined["glucose-model"]
    assert model.metadata["trained_on"] == "u1/glucose", "never matches refine's base selector"
    assert model.metrics == {"accuracy": refined["accuracy_after"],
                             "bias": {"age": refined["metrics"]["bias_age_ratio"]}}
    model_path, model_format = save_artifact(model.value, tmp_path / "u1-model")
    assert model_format == "mxnet-gluon"

    held_out = glucose.split(glucose.user_readings("u1"))[1]
    served = _action("predict").main(
        {"usr": "u1", "readings": glucose.as_dicts(held_out["X"][:5])},
        model=_handle("model", "model", model_path),
    )
    assert len(served["predictions"]) == 5 and 0 <= served["confidence"] <= 1
    assert served["alerts"] == sum(p["critical"] for p in served["predictions"])


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param({"usr": "u1"}, "give 'readings'", id="predict without readings says so"),
        pytest.param({"usr": "u1", "readings": [{"glucose": 60}]}, "misses glucose_15m",
                     id="predict names the missing features"),
    ],
)
def test_predict_answers_bad_input_with_an_error_result(args: dict, message: str) -> None:
    never = _handle("model", "model", Path("/nonexistent"))
    result = _action("predict").main(args, model=never)
    assert message in result["error"]
