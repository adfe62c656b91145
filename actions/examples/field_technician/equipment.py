"""The field technicians' vision model: small photos of equipment states and a Gluon CNN.

Why synthetic photos: the example must run anywhere without downloads, and a seeded generator
gives the same data set everywhere (the tests and the benchmark rely on it). A photo is a
16x16 grey-level panel (values 0..1) with a brightness gradient and noise; an ``ok`` panel is
just that, a ``worn`` one has dark speckles scattered over it, a ``cracked`` one a dark line
across it. The CNN (two 3x3 convolutions, max pooling, one dense layer) learns them in a few
seconds on one core; ``train`` and ``evaluate`` report accuracy on a held-out split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

STATES = ("ok", "worn", "cracked")
SIZE = 16


def _panel(rng: np.random.Generator) -> np.ndarray:
    level = rng.uniform(0.5, 0.8)
    ramp = np.linspace(-0.1, 0.1, SIZE)[None, :] * rng.choice([-1.0, 1.0])
    return level + ramp + rng.normal(0.0, 0.04, (SIZE, SIZE))


def _speckles(image: np.ndarray, rng: np.random.Generator) -> None:
    count = rng.integers(8, 16)
    rows, cols = rng.integers(0, SIZE, count), rng.integers(0, SIZE, count)
    image[rows, cols] = rng.uniform(0.0, 0.2, count)


def _crack(image: np.ndarray, rng: np.random.Generator) -> None:
    start, slope = rng.uniform(0, SIZE), rng.uniform(-1.0, 1.0)
    for col in range(SIZE):
        row = int(start + slope * (col - SIZE / 2)) % SIZE
        image[row, col] = rng.uniform(0.0, 0.15)


def photos(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` photos (float32, shape n x 1 x 16 x 16) and their states (0..2), balanced."""
    rng = np.random.default_rng(seed)
    states = np.arange(n) % len(STATES)
    rng.shuffle(states)
    images = np.empty((n, 1, SIZE, SIZE), dtype=np.float32)
    for i, state in enumerate(states):
        image = _panel(rng)
        if state == 1:
            _speckles(image, rng)
        elif state == 2:
            _crack(image, rng)
        images[i, 0] = np.clip(image, 0.0, 1.0)
    return images, states.astype(np.int64)


def split(x: np.ndarray, y: np.ndarray, holdout: float = 0.25
          ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    cut = int(len(y) * (1 - holdout))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def as_photo(pixels: Any) -> np.ndarray:
    """One photo from a request: 256 numbers, or 16 rows of 16; ValueError otherwise."""
    array = np.asarray(pixels, dtype=np.float32)
    if array.size != SIZE * SIZE or not np.all(np.isfinite(array)):
        raise ValueError(f"a photo is {SIZE}x{SIZE} finite numbers, got shape {array.shape}")
    return array.reshape(1, 1, SIZE, SIZE)


def as_list(image: np.ndarray) -> list[float]:
    """A photo as a request carries it (rounded: a photo travels as 256 short numbers)."""
    return [round(float(v), 3) for v in image.reshape(-1)]


def build_net(seed: int = 0) -> Any:
    """The CNN, initialised from ``seed`` and run forward once (so it can be exported)."""
    import mxnet as mx
    from mxnet.gluon import nn

    mx.random.seed(seed)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, kernel_size=3, padding=1, activation="relu"), nn.MaxPool2D(2),
            nn.Conv2D(16, kernel_size=3, padding=1, activation="relu"), nn.MaxPool2D(2),
            nn.Flatten(), nn.Dense(len(STATES)))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.zeros((1, 1, SIZE, SIZE)))
    return net


def train(net: Any, x: np.ndarray, y: np.ndarray, *, epochs: int = 6, batch: int = 32,
          seed: int = 0) -> list[float]:
    """Adam on softmax cross-entropy; the mean loss of each epoch."""
    import mxnet as mx
    from mxnet import autograd, gluon

    mx.random.seed(seed)
    rng = np.random.default_rng(seed)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        order, total = rng.permutation(len(y)), 0.0
        for start in range(0, len(y), batch):
            pick = order[start:start + batch]
            data, label = mx.nd.array(x[pick]), mx.nd.array(y[pick])
            with autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(len(pick))
            total += float(loss.sum().asscalar())
        losses.append(total / len(y))
    return losses


def probabilities(net: Any, x: np.ndarray) -> np.ndarray:
    import mxnet as mx

    return np.asarray(mx.nd.softmax(net(mx.nd.array(x))).asnumpy())


def accuracy(net: Any, x: np.ndarray, y: Sequence[int] | np.ndarray) -> float:
    return float(np.mean(probabilities(net, x).argmax(axis=1) == np.asarray(y)))


def labelled(items: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Photos the technicians labelled in the field (``{"pixels", "state"}``) as arrays;
    ValueError naming the first bad one."""
    images, states = [], []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("state") not in STATES:
            raise ValueError(f"photo {i}: give pixels and a state of {', '.join(STATES)}")
        images.append(as_photo(item.get("pixels"))[0])
        states.append(STATES.index(item["state"]))
    return np.asarray(images, dtype=np.float32).reshape(-1, 1, SIZE, SIZE), \
        np.asarray(states, dtype=np.int64)
