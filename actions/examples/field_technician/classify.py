"""Classify a photo of equipment on the technician's tablet, with or without a network.

``@policy.fn(node="edge", strict=True)``: the photo is classified on a field device, never in
the cloud: online, the controller places it only on an edge invoker (a tablet; the cloud nodes
are left out, and the placement annotation of its record says so). ``@policy.offline()``: every
device of the namespace may keep this action and run it while cut off from the controller
(through its local invoke API), with the model version its node store holds; the record made
there names the tablet as its invoker. Parameters: ``pixels`` (one photo: 256 numbers 0..1, or
16 rows of 16).
"""

from __future__ import annotations

from typing import Any

import equipment
import mxnet  # noqa: F401  (loaded at /init, so no activation pays for it)
from edgewhisk import consumes, policy


@consumes.model("equipment-model", name="model")
@policy.fn(node="edge", strict=True)
@policy.offline()
def main(args: dict[str, Any], model: Any) -> dict[str, Any]:
    try:
        photo = equipment.as_photo(args.get("pixels"))
    except ValueError as error:
        return {"error": f"bad photo: {error}"}
    proba = equipment.probabilities(model.load(), photo)[0]
    best = int(proba.argmax())
    return {"state": equipment.STATES[best], "confidence": round(float(proba[best]), 4)}
