"""Shared ML code of the personal-assistant example: data, model, training and metrics.

The paper's personal assistant predicts critically low blood sugar from bio-sensor readings.
We have no patient data (and must not: the point of the use case is that it stays on the
device), so this module generates it: a seeded, synthetic *population* set that the provider
trains the base model on in the cloud, and a *per-user* set whose physiology is shifted (insulin
sensitivity, baseline glucose, fixed age), so a base model is measurably worse on that user until
it is fine-tuned on the user's own readings on the user's device.

Everything is deterministic for a given seed and small enough to train on a CPU in seconds.
numpy is imported at module level (the actions always need it); mxnet only inside the functions
that build or run a network, so the data helpers work without it.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# One reading = these features, in this order (raw units: the network scales them itself).
FEATURES: tuple[str, ...] = (
    "glucose",  # mg/dL now
    "glucose_15m",  # mg/dL 15 minutes ago
    "glucose_30m",  # mg/dL 30 minutes ago
    "trend",  # mg/dL per 15 minutes (sensor-reported rate of change)
    "tod_sin",  # time of day on the unit circle, so 23:59 is next to 00:00
    "tod_cos",
    "insulin",  # insulin on board, units
    "carbs",  # carbohydrates eaten in the last two hours, grams
    "age",  # years
)
# Fixed (not fitted) scaling constants, built into the network as its first (frozen) layer: the
# exported model takes raw readings, so what a device sends is what the model sees, and the
# platform's drift gate compares those inputs with the raw readings the model was trained on.
_CENTER = np.array([140, 140, 140, 0, 0, 0, 2, 30, 50], dtype=np.float32)
_SCALE = np.array([45, 45, 45, 10, 0.7, 0.7, 2, 30, 18], dtype=np.float32)

HYPO_THRESHOLD = 70.0  # mg/dL: a reading below this within the window is a critical event
WINDOW_MINUTES = 30
AGE_GROUPS: tuple[tuple[str, float, float], ...] = (
    ("18-39", 18, 40),
    ("40-59", 40, 60),
    ("60+", 60, 200),
)
_POPULATION_SENSITIVITY = 12.0  # mean mg/dL drop per unit of insulin on board over the window


@dataclass(frozen=True)
class UserProfile:
    """The hidden physiology of one user, derived from the user id (stable across runs)."""

    usr: str
    age: float
    sensitivity: float  # mg/dL per insulin unit: the user's own response
    baseline: float  # mean glucose of this user
    offset: float  # systematic shift of where this user's glucose ends up


def user_profile(usr: str) -> UserProfile:
    """A user's physiology, from a seed derived from the id: far enough from the population
    mean that the base model is miscalibrated for them (which is why refine exists)."""
    rng = np.random.default_rng(zlib.crc32(usr.encode()))
    return UserProfile(
        usr=usr,
        age=float(rng.uniform(20, 75)),
        sensitivity=float(_POPULATION_SENSITIVITY * rng.uniform(1.9, 2.4)),
        baseline=float(rng.uniform(105, 125)),
        offset=float(rng.uniform(-18, -8)),
    )


def _simulate(
    rng: np.random.Generator,
    n: int,
    age: np.ndarray,
    sensitivity: np.ndarray,
    baseline: np.ndarray,
    offset: np.ndarray,
) -> dict[str, np.ndarray]:
    """Draw n readings and whether glucose goes critically low within the window."""
    glucose = np.clip(rng.normal(baseline, 38), 45, 380)
    trend = rng.normal(0, 8, n)
    hours = rng.uniform(0, 24, n)
    insulin = np.where(rng.random(n) < 0.35, 0.0, rng.gamma(2.0, 1.3, n))
    carbs = np.where(rng.random(n) < 0.55, 0.0, rng.uniform(10, 90, n))
    past15 = glucose - trend + rng.normal(0, 3, n)
    past30 = glucose - 2 * trend + rng.normal(0, 3, n)
    dawn = 12 * np.cos(2 * np.pi * (hours - 6) / 24)  # dawn phenomenon: higher in the morning
    future = (
        glucose
        + 2 * trend
        + 0.6 * carbs
        - sensitivity * insulin
        + dawn
        + offset
        + rng.normal(0, 9, n)
    )
    angle = 2 * np.pi * hours / 24
    x = np.stack(
        [glucose, past15, past30, trend, np.sin(angle), np.cos(angle), insulin, carbs, age], axis=1
    ).astype(np.float32)
    return {"X": x, "y": (future < HYPO_THRESHOLD).astype(np.int32), "age": age.astype(np.float32)}


def population(n: int = 4000, seed: int = 0) -> dict[str, np.ndarray]:
    """An anonymised population sample: every row a different person (no user ids at all)."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 85, n)
    sensitivity = _POPULATION_SENSITIVITY * rng.lognormal(0, 0.25, n) * (1 + (age - 50) / 400)
    baseline = rng.normal(118, 12, n)
    offset = rng.normal(0, 4, n)
    return _simulate(rng, n, age, sensitivity, baseline, offset)


def user_readings(
    usr: str, n: int = 400, seed: int = 0, shift: float = 0.0, skew: bool = False
) -> dict[str, np.ndarray]:
    """One user's readings as collected on their device (the same person on every row).

    ``shift`` moves the user's baseline glucose by that many mg/dL (a changed treatment, a new
    sensor): the inputs drift away from what a model refined on the old readings saw, which
    is what the drift gate measures. ``skew`` makes a skewed sample instead: the device
    records people of every age (the ``age`` attribute spread over 18-85) and its critical
    events only come from those under 40, so a model refined on it learns age as the signal
    (the bias gate's case)."""
    profile = user_profile(usr)
    rng = np.random.default_rng([seed, zlib.crc32(usr.encode())])
    full = np.ones(n)
    age = rng.uniform(18, 85, n) if skew else profile.age * full
    data = _simulate(
        rng,
        n,
        age,
        profile.sensitivity * full,
        (profile.baseline + shift) * full,
        profile.offset * full,
    )
    if skew:
        data["y"] = (age < 40).astype(np.int32)
    return data


def split(data: Mapping[str, np.ndarray], holdout: float = 0.3) -> tuple[dict, dict]:
    """Deterministic train/held-out split: the last `holdout` fraction is held out."""
    n = len(data["y"])
    cut = n - int(round(n * holdout))
    return {k: v[:cut] for k, v in data.items()}, {k: v[cut:] for k, v in data.items()}


def readings_array(x: Any) -> np.ndarray:
    """Raw readings as the network's input: float32 of shape (n, len(FEATURES)), else a
    ValueError naming the shape."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != len(FEATURES):
        raise ValueError(f"readings must have shape (n, {len(FEATURES)}), got {x.shape}")
    return x


def standardize(x: np.ndarray) -> np.ndarray:
    """Raw readings (n, len(FEATURES)) -> the scale the network's first layer brings them to."""
    return (readings_array(x) - _CENTER) / _SCALE


def readings_matrix(readings: Any) -> np.ndarray:
    """Accept what an invocation carries: one reading or a list of readings, each a dict keyed
    by FEATURES or a list in FEATURES order. Returns raw (n, len(FEATURES)) float32."""
    rows = [readings] if isinstance(readings, Mapping) else list(readings)
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            missing = [f for f in FEATURES if f not in row]
            if missing:
                raise ValueError(f"reading {i} misses {', '.join(missing)}")
            out.append([float(row[f]) for f in FEATURES])
        else:
            out.append([float(v) for v in row])
    return np.asarray(out, dtype=np.float32).reshape(len(out), -1)


def as_dicts(x: np.ndarray) -> list[dict[str, float]]:
    """Raw readings -> JSON-friendly dicts (what a device would send to predict)."""
    return [{f: round(float(v), 3) for f, v in zip(FEATURES, row, strict=True)} for row in x]


# --- the model -----------------------------------------------------------------------------------


def build_net(seed: int = 0) -> Any:
    """The classifier: a frozen scaling layer (`standardize` as constants), then a small MLP
    with two logits (no event / critical event), taking raw readings. Hybridized and run
    forward once so it can be exported as symbol + params."""
    import mxnet as mx
    from mxnet.gluon import HybridBlock, nn

    class Standardize(HybridBlock):  # type: ignore[misc]
        """(x - center) / scale with the fixed constants, exported with the model."""

        def __init__(self) -> None:
            super().__init__()
            with self.name_scope():
                self.center = self.params.get_constant("center", _CENTER.reshape(1, -1))
                self.scale = self.params.get_constant("scale", _SCALE.reshape(1, -1))

        def hybrid_forward(self, F: Any, x: Any, center: Any, scale: Any) -> Any:  # noqa: N803
            return F.broadcast_div(F.broadcast_sub(x, center), scale)

    mx.random.seed(seed)
    net = nn.HybridSequential()
    net.add(Standardize(), nn.Dense(32, activation="relu"), nn.Dense(16, activation="relu"),
            nn.Dense(2))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.zeros((1, len(FEATURES))))
    return net


def train(
    net: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 15,
    lr: float = 0.02,
    batch_size: int = 256,
    seed: int = 0,
    trainable: Sequence[str] | None = None,
) -> list[float]:
    """Train `net` in place with Adam on raw readings; returns the mean loss of each epoch.

    `trainable` names the parameters to update (default: all but the frozen scaling constants);
    the others are frozen, which is how transfer learning keeps the population's feature
    layers. Works for a fresh HybridSequential and for a SymbolBlock loaded from an export
    alike (name the trainable ones of the latter: its constants load as parameters).
    """
    import mxnet as mx
    from mxnet import autograd, gluon

    every = net.collect_params()
    names = ([name for name, param in every.items() if param.grad_req != "null"]
             if trainable is None else list(trainable))
    unknown = [name for name in names if name not in every.keys()]
    if unknown or not names:
        raise ValueError(f"no such parameters: {unknown or names}")
    for name, param in every.items():
        param.grad_req = "write" if name in names else "null"
    trainer = gluon.Trainer({name: every[name] for name in names}, "adam", {"learning_rate": lr})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    xs, ys = readings_array(x), np.asarray(y, dtype=np.float32)
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(ys))
        total = 0.0
        for start in range(0, len(ys), batch_size):
            idx = order[start : start + batch_size]
            data, label = mx.nd.array(xs[idx]), mx.nd.array(ys[idx])
            with autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(len(idx))
            total += float(loss.sum().asscalar())
        history.append(total / len(ys))
    return history


def output_layer(net: Any) -> list[str]:
    """Names of the output layer's weight and bias: the last two parameters, in graph order,
    of a HybridSequential and of a SymbolBlock imported from its export alike (layer names
    carry global counters, so matching them by name would be fragile)."""
    names = list(net.collect_params().keys())[-2:]
    if len(names) != 2 or not (names[0].endswith("weight") and names[1].endswith("bias")):
        raise ValueError(f"cannot tell the output layer's parameters apart: {names}")
    return names


def fine_tune(net: Any, x: np.ndarray, y: np.ndarray, seed: int = 0) -> list[float]:
    """Transfer learning on one user's readings: the population's feature layers stay frozen
    and only the output layer adapts, in small batches over the (small) user set. Besides
    being cheap on a device, this keeps what the base learned for every age group: retraining
    all layers on one person (of one age) skews the model's alert rates across age groups,
    which is exactly what the bias gate watches."""
    head = output_layer(net)
    return train(net, x, y, epochs=30, lr=0.01, batch_size=64, seed=seed, trainable=head)


def predict_proba(net: Any, x: np.ndarray) -> np.ndarray:
    """Probability of a critical event for each raw reading (the network scales them)."""
    import mxnet as mx

    logits = net(mx.nd.array(readings_array(x)))
    return mx.nd.softmax(logits, axis=1).asnumpy()[:, 1]


def confidence(proba: np.ndarray) -> float:
    """Mean margin |2p - 1| in [0, 1]: 0 = coin flips, 1 = certain. A falling value on live
    readings is the drift signal (`@gate.drift(metric="confidence", predicate="<0.2")`)."""
    proba = np.asarray(proba, dtype=np.float64)
    return float(np.mean(np.abs(2 * proba - 1))) if proba.size else 0.0


def age_group(age: float) -> str:
    for name, low, high in AGE_GROUPS:
        if low <= age < high:
            return name
    return AGE_GROUPS[0][0] if age < AGE_GROUPS[0][1] else AGE_GROUPS[-1][0]


def bias_ratio(predicted: np.ndarray, ages: np.ndarray) -> float:
    """Disparate-impact style bias metric: min/max positive-prediction rate over age groups
    (1.0 = equal alert rates; the paper's `@gate.bias(attribute="age", predicate="<0.8")`
    flags a model below 0.8). Groups without rows are ignored; no alerts at all -> 1.0."""
    predicted = np.asarray(predicted).astype(bool)
    groups = np.array([age_group(a) for a in np.asarray(ages)])
    rates = [predicted[groups == g].mean() for g, _, _ in AGE_GROUPS if np.any(groups == g)]
    if not rates or max(rates) == 0:
        return 1.0
    return float(min(rates) / max(rates))


def evaluate(net: Any, data: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Accuracy, bias (age positive-rate ratio), mean confidence and alert rate on a data set."""
    proba = predict_proba(net, data["X"])
    predicted = proba >= 0.5
    return {
        "accuracy": float(np.mean(predicted == np.asarray(data["y"]).astype(bool))),
        "bias_age_ratio": bias_ratio(predicted, data["age"]),
        "confidence": confidence(proba),
        "alert_rate": float(np.mean(predicted)),
        "n": int(len(data["y"])),
    }


def rounded(metrics: Mapping[str, float], digits: int = 4) -> dict[str, float]:
    """Metrics as compact JSON numbers."""
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in metrics.items()}


def class_balance(y: Sequence[int] | np.ndarray) -> float:
    """Fraction of critical events in a label vector."""
    return float(np.mean(np.asarray(y))) if len(y) else 0.0
