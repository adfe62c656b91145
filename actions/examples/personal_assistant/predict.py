"""Phase 3 of the paper's personal assistant: serve the user's refined model on their device.

Low-latency, private inference: the function runs on ``{usr}_device`` where the refined model
``{usr}/glucose-model`` is held (locality ``local``), within a 2 s deadline. Two drift gates
watch the model, measured by the platform on every forward pass (the runtime instruments the
model ``main`` loads): the paper's confidence gate (the mean margin of the predictions falling
below 0.2: the model no longer separates this user's readings), and an input-drift gate (the
largest population stability index of any feature, over the last 100 readings, against the
readings the model was refined on). The latter is strict: once it fires (the trigger
``predict.drift``, which a rule may connect to a per-user refine) this user's predictions are
refused until a new refined model arrives.

Parameters: ``usr`` and ``readings``, one reading or a list, each a dict keyed by
``glucose.FEATURES`` or a list in that order.
"""

from __future__ import annotations

from typing import Any

import glucose
import mxnet  # noqa: F401  (loaded at /init, so no activation pays for it)
from edgewhisk import consumes, gate, policy


@consumes.model("{usr}/glucose-model", name="model", locality="local")
@gate.drift(metric="confidence", predicate="<0.2")
@gate.drift(metric="psi", predicate=">0.5", window=100, strict=True)
@policy.deadline("2s")
@policy.fn(node="{usr}_device", strict=True)
def main(args: dict[str, Any], model: Any) -> dict[str, Any]:
    if "readings" not in args:
        return {"error": "give 'readings': a reading or a list of readings with "
                         + ", ".join(glucose.FEATURES)}
    try:
        x = glucose.readings_matrix(args["readings"])
        proba = glucose.predict_proba(model.load(), x)
    except ValueError as error:
        return {"error": f"bad readings: {error}"}
    alerts = [bool(p >= 0.5) for p in proba]
    return {
        "usr": args.get("usr"),
        "predictions": [
            {"critical": alert, "probability": round(float(p), 4)}
            for alert, p in zip(alerts, proba, strict=True)
        ],
        "alerts": sum(alerts),
        "confidence": round(glucose.confidence(proba), 4),
        "window_minutes": glucose.WINDOW_MINUTES,
    }
