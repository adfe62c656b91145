"""Phase 1 of the paper's personal assistant: the provider trains the base model in the cloud.

Trains the glucose classifier on an anonymised population sample (no user ids: every row is a
different person) and produces it as the model artifact ``glucose-base``, stored in the cloud.
The result also carries the model's metadata (type, training data, held-out metrics): that is
what a ``@consumes.model(selector=...)`` downstream is matched against. It runs on a ``cloud``
invoker (strict): the population set is the provider's, and the training is the heavy step.
"""

from __future__ import annotations

import time
from typing import Any

import glucose
import mxnet  # noqa: F401  (loaded at /init, so no activation pays for it)
from edgewhisk import Output, policy, produces


@produces.model("glucose-base", locality="cloud")
@policy.fn(node="cloud", strict=True)
def main(args: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    seed = int(args.get("seed", 0))
    train, held_out = glucose.split(glucose.population(int(args.get("samples", 4000)), seed=seed))
    net = glucose.build_net(seed=seed)
    epochs = int(args.get("epochs", 15))
    losses = glucose.train(net, train["X"], train["y"], epochs=epochs, seed=seed)
    metrics = glucose.rounded(glucose.evaluate(net, held_out))
    model: dict[str, Any] = {
        "type": "classifier",
        "trained_on": "glucose",
        "input": list(glucose.FEATURES),
        "metrics": {k: metrics[k] for k in ("accuracy", "bias_age_ratio", "confidence")},
    }
    return {
        # The registry keeps metadata and metrics beside the model: refine's selector
        # (type, trained_on, accuracy >= 0.8) is matched against them.
        "glucose-base": Output(
            net, metadata={k: model[k] for k in ("type", "trained_on", "input")},
            metrics={**model["metrics"], "bias": {"age": metrics["bias_age_ratio"]}}),
        "model": model,
        "accuracy": metrics["accuracy"],
        "held_out": metrics,
        "samples": {"train": len(train["y"]), "held_out": len(held_out["y"])},
        "final_loss": round(losses[-1], 4),
        "seconds": round(time.perf_counter() - started, 3),
    }
