"""The gate stage end to end through a real proxy: every gate of a decorated action gets a
verdict in the ``X-Edgewhisk-Gates`` header, the result stays what ``main`` returned.

- drift, measured: a real MXNet model, instrumented when ``main`` loads it, feeds a window per
  (gate, model version, binding); psi and confidence are those of the window's rows against
  the model's training reference (recomputed here with numpy), and a gate fires only once its
  window is full;
- drift, reported: a model that is not a Gluon block leaves the window empty, the run's
  result gives the value;
- bias, measured on the evaluation data the gate names (the produced model run on it), and a
  metric gate reported by ``Output(metrics=...)``; a produced model carries the training
  reference of the data consumed;
- a value that cannot be obtained fails the activation naming the gate (502), never passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from . import client
from .actions import src
from .targets import ProcessTarget

GATES = "X-Edgewhisk-Gates"
REFERENCE = {"source": "guest/u1/readings@1", "rows": 100, "features": ["x0", "x1"],
             "edges": [[0.0], [0.0]], "counts": [[50, 50], [50, 50]]}

SERVE = src("""
    import mxnet as mx
    from edgewhisk import consumes, gate

    @consumes.model("{usr}/m", name="model")
    @gate.drift(metric="psi", predicate=">0.2", window=20, trigger="serve.inputs")
    @gate.drift(metric="confidence", predicate="<0.9", window=20)
    @gate.drift(metric="ks", predicate=">0.2", window=20)
    def main(args, model):
        net = model.load()
        out = net(mx.nd.array(args["rows"])).asnumpy()
        return {"rows": len(out), "echo": args.get("echo")}
""")

PRODUCE = src("""
    import mxnet as mx
    from mxnet.gluon import nn
    from edgewhisk import Output, consumes, gate, produces

    @consumes.data("readings")
    @consumes.data("probe")
    @produces.model("{usr}/m", name="model")
    @produces.data("{usr}/report", name="report")
    @gate.bias("age", "<0.8", target="model", data="probe", bins=[40])
    @gate.metric("accuracy", "<0.9", target="model")
    @gate.metric("pages", ">10", target="report")
    def main(args, readings, probe):
        net = nn.HybridSequential()
        net.add(nn.Dense(2, in_units=2, use_bias=False))
        net.initialize()
        net[0].weight.set_data(mx.nd.array([[1, 0], [0, 1]]))  # logits = inputs
        net.hybridize()
        net(mx.nd.zeros((1, 2)))
        metrics = {} if args.get("accuracy") is None else {"accuracy": args["accuracy"]}
        out = {"model": Output(net, metadata={"input": ["x0", "x1"]}, metrics=metrics)}
        if args.get("report"):
            out["report"] = Output({"pages": 1}, metrics={"pages": 12})
        return out
""")

REPORTED = src("""
    from edgewhisk import consumes, gate

    @consumes.model("{usr}/m", name="model")
    @gate.drift(metric="confidence", predicate="<0.2")
    def main(args, model):
        if args.get("fail"):
            raise RuntimeError("no model today")
        model.load()  # bytes: nothing to instrument
        return {"metrics": {"confidence": args["confidence"]}} if "confidence" in args else {}
""")


def identity_model(folder: Path) -> Path:
    """An exported Gluon model whose two logits are its two inputs."""
    import mxnet as mx
    from mxnet.gluon import nn

    net = nn.HybridSequential()
    net.add(nn.Dense(2, in_units=2, use_bias=False))
    net.initialize()
    net[0].weight.set_data(mx.nd.array([[1, 0], [0, 1]]))
    net.hybridize()
    net(mx.nd.zeros((1, 2)))
    folder.mkdir(parents=True)
    net.export(str(folder / "model"), epoch=0)
    return folder


def staged(consumes: dict[str, dict[str, Any]], root: Path) -> str:
    return json.dumps({"consumes": consumes, "produce_root": str(root)})


def run(proxy: ProcessTarget, value: dict[str, Any], field: str | None = None
        ) -> tuple[int, Any, list[dict[str, Any]] | None]:
    fields = {} if field is None else {"edgewhisk": field}
    status, body, headers = client.exchange(
        proxy.url, "/run", json.dumps({"value": value, **fields}).encode())
    header = headers.get(GATES)
    return status, body, None if header is None else json.loads(header)


def numpy_psi(rows: np.ndarray, feature: int) -> float:
    window = np.bincount((rows[:, feature] > 0).astype(int), minlength=2) / len(rows)
    p, q = np.maximum(window, 1e-4), np.array([0.5, 0.5])
    return float(np.sum((p - q) * np.log(p / q)))


def numpy_ks(rows: np.ndarray) -> float:
    """The largest KS distance of a feature against the reference's 50/50 split at 0."""
    return max(abs(float(np.mean(rows[:, j] <= 0)) - 0.5) for j in range(rows.shape[1]))


def numpy_confidence(rows: np.ndarray) -> float:
    e = np.exp(rows - rows.max(axis=1, keepdims=True))
    top = (e / e.sum(axis=1, keepdims=True)).max(axis=1)
    return float(np.mean((top - 0.5) / 0.5))


@pytest.fixture
def proxy() -> Iterator[ProcessTarget]:
    target = ProcessTarget()
    yield target
    target.stop()


@pytest.mark.mxnet  # the served or produced model is an MXNet Gluon block
def test_drift_is_measured_over_a_window_per_model_version_and_binding(
        proxy: ProcessTarget, tmp_path: Path) -> None:
    model = identity_model(tmp_path / "m")
    assert client.init(proxy.url, {"code": SERVE}) == (200, {"ok": True})

    def field(key: str, reference: Any = REFERENCE) -> str:
        entry = {"path": str(model), "format": "mxnet-gluon", "key": key}
        return staged({"model": {**entry, **({"reference": reference} if reference else {})}},
                      tmp_path / "out")

    calm = np.array([[-1.0, 1.0], [1.0, -1.0]] * 5)
    drifted = np.array([[3.0, 2.5]] * 10)
    status, body, verdicts = run(proxy, {"usr": "u1", "rows": calm.tolist(), "echo": 1},
                                 field("guest/u1/m@1"))
    assert (status, body) == (200, {"rows": 10, "echo": 1}), "the result is main's, unchanged"
    assert verdicts is not None
    psi, conf, ks = verdicts
    assert psi == {"gate": 0, "type": "drift", "target": "model", "metric": "psi",
                   "predicate": ">0.2", "value": pytest.approx(0.0, abs=1e-6), "fired": False,
                   "source": "measured", "rows": 10, "detail": "feature x0"}
    assert (conf["value"], conf["fired"], conf["rows"]) == (
        pytest.approx(numpy_confidence(calm), abs=1e-5), False, 10), \
        "below 0.9, but the window is not full yet"

    status, _, (psi, conf, ks) = run(proxy, {"usr": "u1", "rows": drifted.tolist()},
                                     field("guest/u1/m@1"))
    window = np.vstack([calm, drifted])
    assert status == 200
    assert (psi["value"], psi["fired"], psi["rows"]) == (
        pytest.approx(max(numpy_psi(window, 0), numpy_psi(window, 1)), abs=1e-5), True, 20)
    assert (conf["value"], conf["fired"]) == (
        pytest.approx(numpy_confidence(window), abs=1e-5), True)
    assert (ks["value"], ks["fired"], ks["rows"]) == (pytest.approx(numpy_ks(window)), True, 20)

    _, _, (other_user, *_) = run(proxy, {"usr": "u2", "rows": drifted.tolist()},
                                 field("guest/u2/m@1"))
    _, _, (new_version, *_) = run(proxy, {"usr": "u1", "rows": calm.tolist()},
                                  field("guest/u1/m@2"))
    assert (other_user["rows"], new_version["rows"]) == (10, 10), "windows of their own"
    assert new_version["value"] == pytest.approx(0.0, abs=1e-6)

    status, body, (psi, conf, ks) = run(proxy, {"usr": "u1", "rows": calm.tolist()},
                                        field("guest/u1/m@3", reference=None))
    assert status == 502
    assert body["error"].startswith("gate drift(psi>0.2) on model: cannot be measured: the "
                                    "model version has no training reference")
    assert (psi["value"], psi["error"][:20]) == (None, "cannot be measured: ")
    assert "error" not in conf, "confidence needs no reference"
    assert ks["error"].startswith("cannot be measured: the model version has no training")
    assert body["error"].count("; gate drift(ks>0.2) on model: cannot be measured") == 1, \
        "every gate that cannot be evaluated is named"


def test_a_drift_metric_the_model_cannot_measure_is_the_one_the_result_reports(
        proxy: ProcessTarget, tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"weights")
    field = staged({"model": {"path": str(tmp_path / "m.bin"), "format": "bytes",
                              "key": "guest/u1/m@1"}}, tmp_path / "out")
    assert client.init(proxy.url, {"code": REPORTED}) == (200, {"ok": True})
    status, body, verdicts = run(proxy, {"usr": "u1", "confidence": 0.1}, field)
    assert (status, body) == (200, {"metrics": {"confidence": 0.1}})
    assert verdicts == [{"gate": 0, "type": "drift", "target": "model", "metric": "confidence",
                         "predicate": "<0.2", "value": 0.1, "fired": True,
                         "source": "reported"}]
    status, body, (verdict,) = run(proxy, {"usr": "u1"}, field)
    assert status == 502
    assert body["error"] == (
        "gate drift(confidence<0.2) on model: no value: the model was never run as an MXNet "
        "Gluon block, and the result reports no number 'confidence' (at the top or in "
        "'metrics')")
    assert verdict["error"] == body["error"].split(": ", 1)[1]
    status, body, verdicts = run(proxy, {"usr": "u1", "fail": True}, field)
    assert (status, body, verdicts) == (200, {"error": "no model today"}, None), \
        "a failed activation gets no verdicts"


@pytest.mark.mxnet  # the served or produced model is an MXNet Gluon block
def test_validator_gates_judge_the_produced_model(proxy: ProcessTarget, tmp_path: Path) -> None:
    readings = tmp_path / "readings.npz"
    x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]], dtype=np.float32)
    np.savez(readings, X=x, y=np.array([0, 1, 0, 1]))
    probe = tmp_path / "probe.npz"
    ages = np.array([20] * 10 + [50] * 10, dtype=np.float32)
    positive = [[0.0, 1.0]] * 8 + [[1.0, 0.0]] * 2 + [[0.0, 1.0]] * 2 + [[1.0, 0.0]] * 8
    np.savez(probe, X=np.array(positive, dtype=np.float32), age=ages)
    field = staged({"readings": {"path": str(readings), "format": "npz",
                                 "key": "guest/readings@1"},
                    "probe": {"path": str(probe), "format": "npz", "key": "guest/probe@1"}},
                   tmp_path / "out")
    assert client.init(proxy.url, {"code": PRODUCE}) == (200, {"ok": True})

    status, body, verdicts = run(proxy, {"usr": "u1", "accuracy": 0.8}, field)
    assert status == 200, body
    bias, accuracy = verdicts
    assert bias == {"gate": 0, "type": "bias", "target": "model", "metric": "bias.age",
                    "predicate": "<0.8", "value": pytest.approx(0.25), "fired": True,
                    "source": "measured", "detail": "positive rate by group: <40 0.80, "
                                                    ">=40 0.20"}
    assert accuracy == {"gate": 1, "type": "metric", "target": "model", "metric": "accuracy",
                        "predicate": "<0.9", "value": 0.8, "fired": True, "source": "reported"}
    metadata = body["model"]["artifact"]["metadata"]
    reference = metadata["training_reference"]
    assert (reference["source"], reference["rows"], reference["features"]) == (
        "guest/readings@1", 4, ["x0", "x1"])
    assert [sum(c) for c in reference["counts"]] == [4, 4]
    assert reference["edges"][0] == pytest.approx(list(np.unique(np.quantile(
        x[:, 0], np.linspace(0, 1, 11)[1:-1]))), abs=1e-5)

    _, _, verdicts = run(proxy, {"usr": "u1", "accuracy": 0.95, "report": True}, field)
    assert [(v["gate"], v["fired"]) for v in verdicts] == [(0, True), (1, False), (2, True)]

    status, body, verdicts = run(proxy, {"usr": "u1"}, field)
    assert status == 502
    assert body["error"] == ("gate metric(accuracy<0.9) on model: no value: the function "
                             "reported no number 'accuracy' in the metrics of 'model' "
                             "(Output(metrics=...))")
    assert [v.get("error") is not None for v in verdicts] == [False, True]


def test_an_action_without_gates_gets_no_header(proxy: ProcessTarget) -> None:
    assert client.init(proxy.url, {"code": "def main(args):\n    return args\n"})[0] == 200
    assert run(proxy, {"a": 1}) == (200, {"a": 1}, None)


def test_the_stage_remembers_a_bounded_set_of_versions_it_sent_edges_for() -> None:
    """Past ``MAX_REFERENCES`` versions the stage forgets what it sent and sends edges again
    (the action process keeps more versions than that, so it never lacks the edges)."""
    import asyncio

    from edgewhisk_runtime.activation import Activation, Result
    from edgewhisk_runtime.middleware.gates import MAX_REFERENCES, GatesMiddleware

    annotation = {"consumes": [{"kind": "model", "name": "model", "ref": "m"}],
                  "gates": [{"type": "drift", "metric": "confidence", "predicate": "<0.2",
                            "target": "model"}]}
    stage, sent_edges = GatesMiddleware(), []

    async def process(activation: Activation) -> Result:
        sent_edges.append("edges" in (activation.monitor or {})["drift"]["model"])
        return Result(200, {"metrics": {"confidence": 0.5}})

    async def serve(version: str) -> None:
        activation = Activation({}, {}, annotation=annotation,
                                staged={"consumes": {"model": {"key": version}}})
        await stage(activation, process)

    async def scenario() -> None:
        for n in range(MAX_REFERENCES + 1):
            await serve(f"v{n}")
        await serve("v0")  # still remembered: no edges; then the set, past its bound, is
        await serve("v1")  # cleared but for v0: v1's edges travel again
        await serve("v0")

    asyncio.run(scenario())
    assert sent_edges == [True] * (MAX_REFERENCES + 1) + [False, True, False]
    assert len(stage.sent) <= MAX_REFERENCES + 1
