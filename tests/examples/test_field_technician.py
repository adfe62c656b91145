"""The field technicians' example: its annotations, the CNN's held-out accuracy, and the three
mains chained in process with real artifact handles (train in the cloud, classify on a tablet,
pack the field's photos into an artifact, retrain with it).

(Through a real controller and tablets cut off from it: the field-technician demo.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from edgewhisk import ArtifactHandle, describe, save_artifact

FIELD = Path(__file__).resolve().parents[2] / "actions" / "examples" / "field_technician"
if str(FIELD) not in sys.path:
    sys.path.insert(0, str(FIELD))

import equipment  # noqa: E402

pytestmark = pytest.mark.mxnet  # the field example trains and serves an MXNet CNN (the ai extra)


def _action(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"field_technician_{name}", FIELD / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXPECTED = {
    "train": {"consumes": [], "gates": [],
              "policies": [{"type": "fn", "node": "cloud", "strict": True}],
              "produces": [{"kind": "model", "name": "equipment-model",
                            "ref": "equipment-model", "locality": "cloud"}]},
    "classify": {"consumes": [{"kind": "model", "name": "model", "ref": "equipment-model"}],
                 "produces": [], "gates": [],
                 "policies": [{"type": "fn", "node": "edge", "strict": True}, {"type": "offline"}]},
    "upload": {"consumes": [], "gates": [],
               "produces": [{"kind": "data", "name": "photos", "ref": "field-photos",
                             "locality": "cloud"}],
               "policies": [{"type": "offline"},
                            {"type": "data", "network": ["corp"], "strict": True}]},
    "retrain": {"consumes": [{"kind": "data", "name": "photos", "ref": "field-photos"}],
                "gates": [], "policies": [{"type": "fn", "node": "cloud", "strict": True}],
                "produces": [{"kind": "model", "name": "equipment-model",
                              "ref": "equipment-model", "locality": "cloud"}]},
}


@pytest.mark.parametrize("name", [
    pytest.param("train", id="train produces the model in the cloud"),
    pytest.param("classify", id="classify runs on a device (a tablet), offline too"),
    pytest.param("upload", id="upload makes the field's photos an artifact, only on corp"),
    pytest.param("retrain", id="retrain consumes them in the cloud"),
])
def test_the_annotations_say_where_each_step_may_run(name: str) -> None:
    assert describe(_action(name).main) == {"version": 1, **EXPECTED[name]}


def test_the_synthetic_photos_are_seeded_and_balanced() -> None:
    x, y = equipment.photos(90, seed=3)
    again, same = equipment.photos(90, seed=3)
    assert (x == again).all() and (y == same).all()
    assert x.shape == (90, 1, 16, 16) and 0.0 <= x.min() and x.max() <= 1.0
    assert sorted(set(y.tolist())) == [0, 1, 2] and (y == 0).sum() == 30


def _handle(path: Path) -> ArtifactHandle:
    return ArtifactHandle("model", "model", None, lambda: path, format="mxnet-gluon")


def test_train_classify_upload_retrain_in_process(tmp_path: Path) -> None:
    trained = _action("train").main({"seed": 0})
    assert trained["accuracy"] >= 0.9, trained            # held-out accuracy
    path, fmt = save_artifact(trained["equipment-model"].value, tmp_path / "model")
    assert fmt == "mxnet-gluon"

    photos, states = equipment.photos(30, seed=7)            # "taken in the field"
    classify = _action("classify").main
    answers = [classify({"pixels": equipment.as_list(p)}, model=_handle(path)) for p in photos]
    right = sum(a["state"] == equipment.STATES[s] for a, s in zip(answers, states, strict=True))
    assert right >= 26, answers
    assert "bad photo" in classify({"pixels": [1, 2]}, model=_handle(path))["error"]

    labelled: list[dict[str, Any]] = [
        {"pixels": equipment.as_list(p), "state": equipment.STATES[s]}
        for p, s in zip(photos, states, strict=True)]
    uploaded = _action("upload").main({"photos": labelled})
    assert uploaded["count"] == 30
    assert "bad photos" in _action("upload").main({"photos": [{"state": "new"}]})["error"]
    path, fmt = save_artifact(uploaded["photos"], tmp_path / "photos")
    assert fmt == "npz"
    handle = ArtifactHandle("photos", "data", None, lambda: path, format=fmt)
    retrained = _action("retrain").main({"seed": 1}, photos=handle)
    assert retrained["samples"]["field"] == 30 and retrained["accuracy"] >= 0.9
    assert retrained["samples"]["train"] == trained["samples"]["train"] + 30
