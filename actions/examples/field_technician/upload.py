"""Upload photos labelled in the field for retraining — only over the corporate network.

``@policy.data(network=["corp"], strict=True)``: the photos are the company's data and move
only on its network, so on a tablet that is not on ``corp`` the upload waits, on the device and
durably (an agent restart keeps it), and runs when the tablet joins ``corp``; its record, which
carries the photos to the cloud, syncs from there. ``@policy.offline()`` lets the tablet keep
it. Parameters: ``photos``, a list of ``{"pixels", "state"}``.
"""

from __future__ import annotations

from typing import Any

import equipment
from edgewhisk import policy


@policy.offline()
@policy.data(network=["corp"], strict=True)
def main(args: dict[str, Any]) -> dict[str, Any]:
    photos = args.get("photos", [])
    try:
        equipment.labelled(photos)
    except ValueError as error:
        return {"error": f"bad photos: {error}"}
    return {"field_photos": photos, "count": len(photos)}
