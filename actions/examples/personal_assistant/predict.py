"""Phase 3 of the paper's personal assistant: serve the user's refined model on their device.

Low-latency, private inference: the function runs on ``{usr}_device`` where the refined model
``{usr}/glucose-model`` is held (locality ``local``), within a 2 s deadline. The result's
``confidence`` (mean margin of the predictions) is the metric the drift gate watches: when it
falls below 0.2 the model no longer separates this user's readings, a cue to refine again.

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
