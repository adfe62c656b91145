"""Phase 2 of the paper's personal assistant (its Listing 4): refine the base model for one user.

Runs on the user's own device (``{usr}_device``, strict) next to the user's readings, which never
leave it (consumed with locality ``local``, only inside the user's home network). It fine-tunes a
copy of the base model chosen by selector (a glucose classifier with accuracy >= 0.8) on the
user's readings (transfer learning) and produces ``{usr}/glucose-model``, stored on the device.
The result reports held-out accuracy before and after, and the bias metric the gate watches:
the age-group alert-rate ratio on an anonymised probe set that is regenerated from its seed, so
no population data has to travel to the device.
"""

from __future__ import annotations

import time
from typing import Any

import glucose
import mxnet  # noqa: F401  (loaded at /init, so no activation pays for it)
import numpy as np
from edgewhisk import Output, consumes, gate, policy, produces

PROBE_SEED = 1234  # the anonymised population probe set the bias metric is computed on


@consumes.model(
    name="base",
    selector={"type": "classifier", "trained_on": "glucose", "metrics": {"accuracy": ">=0.8"}},
)
@consumes.data("{usr}/glucose", name="readings", locality="local")
@produces.model("{usr}/glucose-model", locality="local")
@gate.bias(attribute="age", predicate="<0.8", target="glucose-model")
@policy.fn(node="{usr}_device", strict=True)
@policy.data(network=["{usr}_home"], strict=True)
def main(args: dict[str, Any], base: Any, readings: Any) -> dict[str, Any]:
    started = time.perf_counter()
    loaded = readings.load()
    data = {key: np.asarray(loaded[key]) for key in ("X", "y", "age")}
    train, held_out = glucose.split(data, holdout=float(args.get("holdout", 0.3)))
    net = base.load()  # a fresh SymbolBlock from the export: the base itself stays untouched
    before = glucose.evaluate(net, held_out)
    losses = glucose.fine_tune(net, train["X"], train["y"], seed=int(args.get("seed", 0)))
    after = glucose.rounded(glucose.evaluate(net, held_out))
    probe = glucose.population(1000, seed=PROBE_SEED)
    predicted = glucose.predict_proba(net, probe["X"]) >= 0.5
    bias = round(glucose.bias_ratio(predicted, probe["age"]), 4)
    return {
        # trained_on names the user's readings: refine's own selector (trained_on "glucose",
        # the population) never picks another user's refined model as its base
        "glucose-model": Output(net, metadata={"type": "classifier",
                                               "trained_on": f"{args.get('usr')}/glucose",
                                               "input": list(glucose.FEATURES)},
                                metrics={"accuracy": after["accuracy"], "bias": {"age": bias}}),
        "usr": args.get("usr"),
        "accuracy_before": round(before["accuracy"], 4),
        "accuracy_after": after["accuracy"],
        "improved": after["accuracy"] > before["accuracy"],
        "metrics": {
            "accuracy": after["accuracy"],
            "confidence": after["confidence"],
            "bias_age_ratio": bias,
        },
        "samples": {"train": len(train["y"]), "held_out": len(held_out["y"])},
        "final_loss": round(losses[-1], 4),
        "seconds": round(time.perf_counter() - started, 3),
    }
