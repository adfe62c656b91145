"""Pipeline step "feature engineering" (pipeline 2): degree-2 polynomial features.

Consumes a prepared data set (``{dataset}/train``, ``{dataset}/test``) and produces the derived
one ``{features}/train``, ``{features}/test`` (the same rows, the raw features with their
squares and products): the steps after it run on ``features`` as on any data set. In the
cloud (strict), next to the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tabular
from edgewhisk import Output, consumes, policy, produces


@consumes.data("{dataset}/train", name="raw_train")
@consumes.data("{dataset}/test", name="raw_test")
@produces.data("{features}/train", name="train", locality="cloud")
@produces.data("{features}/test", name="test", locality="cloud")
@policy.fn(node="cloud", strict=True)
def main(args: dict[str, Any], raw_train: Any, raw_test: Any) -> dict[str, Any]:
    out = {}
    for name, handle in (("train", raw_train), ("test", raw_test)):
        data = handle.load()
        X = tabular.poly(np.asarray(data["X"]))
        out[name] = Output({"X": X, "y": np.asarray(data["y"])},
                           metadata={"type": "table", "derived_from": args["dataset"],
                                     "features": int(X.shape[1])})
    return {**out, "dataset": args["features"], "features": int(X.shape[1])}
