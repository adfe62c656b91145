"""Pipeline step "train": fit one configuration on ``{dataset}/train``.

Produces the candidate ``{dataset}/candidate-{trial}`` (npz, cloud) with its configuration as
metadata and its accuracy on a validation share of the training rows (``val_accuracy``, never
the test set, which ``validate`` keeps for the gate) as a metric. ``trial`` names the
configuration: a sweep runs one activation per trial, in parallel (pipeline 2's Composer
``map``). In the cloud (strict).
"""

from __future__ import annotations

import time
from typing import Any

import tabular
from edgewhisk import Output, consumes, policy, produces


@consumes.data("{dataset}/train", name="train")
@produces.model("{dataset}/candidate-{trial}", name="candidate", locality="cloud")
@policy.fn(node="cloud", strict=True)
def main(args: dict[str, Any], train: Any) -> dict[str, Any]:
    started = time.perf_counter()
    config = {"lr": float(args.get("lr", 0.5)), "epochs": int(args.get("epochs", 200)),
              "l2": float(args.get("l2", 0.0))}
    fit, held = tabular.split(train.load(), float(args.get("val_share", 0.2)))
    model = tabular.fit(fit["X"], fit["y"], **config)
    val_accuracy = tabular.accuracy(model, held)
    return {
        "candidate": Output(model, metadata={"type": "classifier",
                                             "trained_on": args["dataset"], "config": config},
                            metrics={"val_accuracy": val_accuracy}),
        "dataset": args["dataset"],
        "trial": args["trial"],
        "config": config,
        "val_accuracy": val_accuracy,
        "seconds": round(time.perf_counter() - started, 3),
    }
