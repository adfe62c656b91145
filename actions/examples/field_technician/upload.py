"""Upload photos labelled in the field for retraining — only over the corporate network.

``@policy.data(network=["corp"], strict=True)``: the photos are the company's data and move
only on its network, so on a tablet that is not on ``corp`` the upload waits, on the device and
durably (an agent restart keeps it), and runs when the tablet joins ``corp``. It packs the
photos into a ``field-photos`` data artifact (``npz``: ``x`` the photos, ``y`` their states),
made on the tablet: kept in its node store, registered when the run's record syncs (its version
allocated then, ``created_by`` this activation) and then uploaded to the cloud store, where
``retrain.py`` consumes it. ``@policy.offline()`` lets the tablet keep this action.
Parameters: ``photos``, a list of ``{"pixels", "state"}``.
"""

from __future__ import annotations

from typing import Any

import equipment
from edgewhisk import policy, produces


@produces.data("field-photos", name="photos", locality="cloud")
@policy.offline()
@policy.data(network=["corp"], strict=True)
def main(args: dict[str, Any]) -> dict[str, Any]:
    try:
        x, y = equipment.labelled(args.get("photos", []))
    except ValueError as error:
        return {"error": f"bad photos: {error}"}
    return {"photos": {"x": x, "y": y}, "count": len(y)}
