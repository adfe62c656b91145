"""Pipeline step "validate": the gate between a candidate and the served model.

Scores the candidate ``{dataset}/candidate-{trial}`` on the test set and produces it as the
next version of ``{dataset}/model`` with that accuracy as a metric. Its validator gate
(``accuracy < 0.8`` fires) is the platform's: a firing gate registers the version ``gated``
(held back: the latest version, selectors and preload skip it, the previous one stays
current), and the result's reference says ``status: gated``, which the flow stops on. In the
cloud (strict).
"""

from __future__ import annotations

from typing import Any

import tabular
from edgewhisk import Output, consumes, gate, policy, produces


@consumes.model("{dataset}/candidate-{trial}", name="candidate")
@consumes.data("{dataset}/test", name="test")
@produces.model("{dataset}/model", name="model", locality="cloud")
@gate.metric("accuracy", "<0.8")
@policy.fn(node="cloud", strict=True)
def main(args: dict[str, Any], candidate: Any, test: Any) -> dict[str, Any]:
    model = dict(candidate.load())
    accuracy = tabular.accuracy(model, test.load())
    return {
        "model": Output(model, metadata={"type": "classifier", "trained_on": args["dataset"],
                                         "trial": args["trial"]},
                        metrics={"accuracy": accuracy}),
        "dataset": args["dataset"],
        "trial": args["trial"],
        "accuracy": accuracy,
    }
