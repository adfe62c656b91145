"""The small numpy ML the pipeline steps share: a seeded tabular data set, polynomial features,
and logistic regression trained by gradient descent.

Why numpy and not MXNet: pipelines 1 and 2 are about the flow (steps, placement, gates,
a parallel sweep), not the model; a logistic regression trains in milliseconds, so a flow's
time is the platform's. The data set is two classes separated by a circle (``shape="rings"``:
a linear model on the raw features stays near chance, one on polynomial features does well)
or by a line (``shape="blobs"``: a linear model does well on the raw features).
"""

from __future__ import annotations

from typing import Any

import numpy as np

SHAPES = ("blobs", "rings")


def make(samples: int, seed: int, shape: str, label_noise: float = 0.0) -> dict[str, Any]:
    """``samples`` rows of 2 features (``X``) and their class (``y``, 0 or 1); a
    ``label_noise`` share of the labels is replaced by coin flips (1 is a broken sensor: a
    model cannot learn from it)."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, size=(samples, 2))
    if shape == "rings":
        y = (np.hypot(X[:, 0], X[:, 1]) < 1.1).astype(np.int64)
    else:
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    noisy = rng.random(samples) < label_noise
    y[noisy] = rng.integers(0, 2, size=int(noisy.sum()))
    return {"X": X, "y": y}


def split(data: dict[str, Any], share: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first ``1 - share`` of the rows, and the rest (rows are already shuffled)."""
    cut = int(len(data["y"]) * (1 - share))
    return ({k: np.asarray(v)[:cut] for k, v in data.items()},
            {k: np.asarray(v)[cut:] for k, v in data.items()})


def poly(X: np.ndarray) -> np.ndarray:
    """The raw features, their squares and their pairwise products (degree 2)."""
    n = X.shape[1]
    cross = [X[:, i] * X[:, j] for i in range(n) for j in range(i, n)]
    return np.column_stack([X, *cross])


def fit(X: np.ndarray, y: np.ndarray, *, lr: float, epochs: int, l2: float) -> dict[str, Any]:
    """Logistic regression by full-batch gradient descent on standardised features; the
    model as arrays (``w``, ``b``, and the standardisation ``mean``, ``scale``)."""
    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-9
    Z = (X - mean) / scale
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(epochs):
        p = _sigmoid(Z @ w + b)
        w -= lr * (Z.T @ (p - y) / len(y) + l2 * w)
        b -= lr * float(np.mean(p - y))
    return {"w": w, "b": np.array([b]), "mean": mean, "scale": scale}


def predict_proba(model: dict[str, Any], X: np.ndarray) -> np.ndarray:
    Z = (X - np.asarray(model["mean"])) / np.asarray(model["scale"])
    return _sigmoid(Z @ np.asarray(model["w"]) + float(np.asarray(model["b"])[0]))


def accuracy(model: dict[str, Any], data: dict[str, Any]) -> float:
    predicted = predict_proba(model, np.asarray(data["X"])) >= 0.5
    return round(float(np.mean(predicted == np.asarray(data["y"]))), 4)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
