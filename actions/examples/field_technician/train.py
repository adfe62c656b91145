"""Train the equipment classifier in the cloud (``policy.fn(node="cloud", strict=True)``: a CNN
trained on a tablet would drain it).

The synthetic set (``equipment.photos``, seeded) is split; the CNN is trained on three
quarters and its accuracy on the held-out quarter is reported and kept as the model's metric
(``equipment.fit``). ``retrain.py`` trains it again with the photos labelled in the field.
"""

from __future__ import annotations

import time
from typing import Any

import equipment
import mxnet  # noqa: F401  (loaded at /init, so no activation pays for it)
from edgewhisk import Output, policy, produces


@produces.model("equipment-model", locality="cloud")
@policy.fn(node="cloud", strict=True)
def main(args: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    net, report = equipment.fit(int(args.get("seed", 0)), int(args.get("samples", 600)),
                                int(args.get("epochs", 5)))
    return {"equipment-model": Output(net, metadata=equipment.METADATA,
                                      metrics={"accuracy": report["accuracy"]}),
            **report, "seconds": round(time.perf_counter() - started, 3)}
