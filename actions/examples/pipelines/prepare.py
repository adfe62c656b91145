"""Pipeline step "collect/prepare": make a data set and split it into training and test sets.

Runs in the cloud (strict): the provider's data. A real pipeline reads its sources here; this
example generates a seeded one with ``tabular.make`` (``shape``, ``samples``, ``seed``), and
``label_noise`` stands for a broken source (the share of labels that are coin flips; 1: no
model learns anything, and the training flow's validator gate stops it). Produces
``{dataset}/train`` and ``{dataset}/test`` (npz, cloud: in the blob store, for any later
step).
"""

from __future__ import annotations

from typing import Any

import tabular
from edgewhisk import Output, policy, produces


@produces.data("{dataset}/train", name="train", locality="cloud")
@produces.data("{dataset}/test", name="test", locality="cloud")
@policy.fn(node="cloud", strict=True)
def main(args: dict[str, Any]) -> dict[str, Any]:
    shape = str(args.get("shape", "blobs"))
    data = tabular.make(int(args.get("samples", 2000)), int(args.get("seed", 0)), shape,
                        float(args.get("label_noise", 0.0)))
    train, test = tabular.split(data, float(args.get("test_share", 0.25)))
    meta = {"type": "table", "shape": shape, "features": int(data["X"].shape[1])}
    return {
        "train": Output(train, metadata=meta),
        "test": Output(test, metadata=meta),
        "dataset": args["dataset"],
        "rows": {"train": int(len(train["y"])), "test": int(len(test["y"]))},
    }
