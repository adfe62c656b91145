"""Retrain the equipment classifier in the cloud with the photos labelled in the field.

``@consumes.data("field-photos")``: the newest version of the field's photos, an artifact a
tablet made with ``upload.py`` — on the corporate network only — and uploaded to the cloud
store once its version was registered. They join the seeded set's training split; the held-out
accuracy is measured on the same held-out quarter as ``train.py``'s, so the two compare. In the
cloud, as ``train.py`` (``policy.fn(node="cloud", strict=True)``).
"""

from __future__ import annotations

import time
from typing import Any

import equipment
import mxnet  # noqa: F401  (loaded at /init, so no activation pays for it)
from edgewhisk import Output, consumes, policy, produces


@consumes.data("field-photos", name="photos")
@produces.model("equipment-model", locality="cloud")
@policy.fn(node="cloud", strict=True)
def main(args: dict[str, Any], photos: Any) -> dict[str, Any]:
    started = time.perf_counter()
    arrays = photos.load()
    net, report = equipment.fit(int(args.get("seed", 0)), int(args.get("samples", 600)),
                                int(args.get("epochs", 5)), field=(arrays["x"], arrays["y"]))
    return {"equipment-model": Output(net, metadata=equipment.METADATA,
                                      metrics={"accuracy": report["accuracy"]}),
            **report, "seconds": round(time.perf_counter() - started, 3)}
