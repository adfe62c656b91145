"""Train the equipment classifier in the cloud (and retrain it with the field's photos).

The synthetic set (``equipment.photos``, seeded) is split; the CNN is trained on three
quarters and its accuracy on the held-out quarter is reported and kept as the model's metric.
``field_photos``: photos technicians labelled in the field (``{"pixels", "state"}``), uploaded
from their tablets only over the corporate network (``upload.py``); they join the training set.
"""

from __future__ import annotations

import time
from typing import Any

import equipment
import mxnet  # noqa: F401  (loaded at /init, so no activation pays for it)
import numpy as np
from edgewhisk import Output, produces


@produces.model("equipment-model", locality="cloud")
def main(args: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    seed = int(args.get("seed", 0))
    x, y = equipment.photos(int(args.get("samples", 600)), seed=seed)
    (train_x, train_y), (test_x, test_y) = equipment.split(x, y)
    try:
        field_x, field_y = equipment.labelled(args.get("field_photos", []))
    except ValueError as error:
        return {"error": f"bad field photos: {error}"}
    if len(field_y):
        train_x, train_y = np.concatenate([train_x, field_x]), np.concatenate([train_y, field_y])
    net = equipment.build_net(seed=seed)
    losses = equipment.train(net, train_x, train_y, epochs=int(args.get("epochs", 5)), seed=seed)
    held_out = round(equipment.accuracy(net, test_x, test_y), 4)
    return {
        "equipment-model": Output(net, metadata={"type": "classifier", "trained_on": "equipment",
                                                 "input": ["photo16x16"]},
                                  metrics={"accuracy": held_out}),
        "accuracy": held_out,
        "samples": {"train": len(train_y), "held_out": len(test_y), "field": len(field_y)},
        "final_loss": round(losses[-1], 4),
        "seconds": round(time.perf_counter() - started, 3),
    }
