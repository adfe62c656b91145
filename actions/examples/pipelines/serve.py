"""Pipeline step "serve": the current model, on an edge device, answering.

Consumes ``{dataset}/model``: the registry resolves it to the latest version no gate held
back (the one ``validate`` just promoted), and the device the placement policy picks
(``node="edge"``, strict) fetches it through the tunnel into its store, where later
activations find it cached. It scores the rows it is given (``rows``, each a list of the raw
data set's ``features``, put through ``transform`` first when the model was trained on
derived features: ``poly``) and returns the probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tabular
from edgewhisk import consumes, policy


@consumes.model("{dataset}/model", name="model")
@policy.fn(node="edge", strict=True)
def main(args: dict[str, Any], model: Any) -> dict[str, Any]:
    rows = np.asarray(args.get("rows", []), dtype=float).reshape(-1, int(args["features"]))
    transform = args.get("transform")
    if transform not in (None, "poly"):
        raise ValueError(f"transform must be 'poly' or absent, got {transform!r}")
    if transform == "poly":
        rows = tabular.poly(rows)
    probabilities = tabular.predict_proba(dict(model.load()), rows) if len(rows) else []
    return {
        "dataset": args["dataset"],
        "served": [round(float(p), 4) for p in probabilities],
    }
