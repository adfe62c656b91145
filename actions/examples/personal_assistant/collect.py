"""Phase 0 of the paper's personal assistant: the user's device records its readings.

Runs on the user's own device (``{usr}_device``, strict) and produces ``{usr}/glucose``, locality
``local``: the readings are born on the device, kept in its artifact store, and only their
metadata (size, sha256, which device holds them) ever reaches the registry. A real device reads
its bio-sensor here; this example has no patient, so it generates the user's readings with the
seeded simulator of ``glucose.py`` (the same per-user physiology ``refine`` adapts to):
``shift`` (mg/dL) moves the user's glucose, ``skew`` records a skewed sample (see
``glucose.user_readings``).
"""

from __future__ import annotations

from typing import Any

import glucose
from edgewhisk import Output, policy, produces


@produces.data("{usr}/glucose", locality="local")
@policy.fn(node="{usr}_device", strict=True)
def main(args: dict[str, Any]) -> dict[str, Any]:
    usr = str(args["usr"])
    data = glucose.user_readings(usr, int(args.get("readings", 400)), seed=int(args.get("seed", 0)),
                                 shift=float(args.get("shift", 0)), skew=bool(args.get("skew")))
    return {
        "glucose": Output(data, metadata={"type": "readings", "input": list(glucose.FEATURES)}),
        "usr": usr,
        "readings": int(len(data["y"])),
        "critical": round(glucose.class_balance(data["y"]), 4),
    }
